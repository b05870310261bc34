/*
 * Page dirtier for the QEMU calibration guest (bench/qemu). Static, runs from the initramfs.
 *
 * Usage: dirtier WS_MIB RATE_BPS [paced|tick]
 *   Fills a working set of WS_MIB MiB with non-zero data (so none of it is a zero page), then
 *   rewrites it page by page, cyclically, at RATE_BPS bytes per second (one 8-byte store per
 *   4 KiB page dirties the page; the stored value is a never-zero counter). The pages are visited
 *   in a fixed scrambled order (a stride of STRIDE pages, coprime with the page count), so that
 *   the writes do not run along QEMU's address-ordered scan. Every 1 ms tick (then a 1 ms sleep):
 *   - "paced" (default): the pages due since the start by the clock are written, making up at most
 *     CATCHUP_S of lag; after a throttle sleep it makes up most of the time lost;
 *   - "tick": a fixed amount of work, RATE x 1 ms of pages; a tick that does not run (auto-converge
 *     holds the vCPU, the host is busy) is lost, so the rate follows the CPU time the guest gets,
 *     as a CPU-bound workload's would (the achieved rate is a little below RATE).
 *   The harness records the achieved rate. Within any interval of length T the distinct pages
 *   dirtied are min(rate x T, WS), the rule the engine models.
 *   RATE_BPS = 0: the working set is filled once and the guest then only sleeps (an idle guest).
 *
 * Every second it prints one line on the console:
 *   DIRTIER t=<guest s> pages=<total> rate_bps=<achieved over the last second> target_bps=<RATE>
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096UL
#define TICK_S 0.001
#define CATCHUP_S 0.002
#define STRIDE 7919UL /* a prime: coprime with every working-set page count */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    unsigned long ws_mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
    double rate = argc > 2 ? strtod(argv[2], NULL) : 0.0;
    unsigned long npages = ws_mib * 1024 * 1024 / PAGE;
    unsigned char *ws = NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (npages) {
        ws = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (ws == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        memset(ws, 0xa5, npages * PAGE);
    }
    printf("DIRTIER start ws_pages=%lu target_bps=%.0f mode=%s\n", npages, rate, argc > 3 ? argv[3] : "paced");
    double t0 = now(), last = t0;
    int tick_mode = argc > 3 && strcmp(argv[3], "tick") == 0;
    uint64_t counter = 1, written = 0;
    double owed = 0.0; /* tick mode: pages of work carried between ticks (the fraction of a page) */
    unsigned long idx = 0;
    unsigned long stride = (npages % STRIDE) ? STRIDE : 1; /* STRIDE is prime */
    struct timespec ms = {0, 1000000};
    for (;;) {
        double t = now();
        if (npages && rate > 0) {
            if (tick_mode) {
                owed += rate * TICK_S / PAGE; /* this tick's work, whatever the time since the last */
            } else {
                uint64_t due = (uint64_t)((t - t0) * rate / PAGE);
                uint64_t cap = (uint64_t)(rate * CATCHUP_S / PAGE) + 1; /* make up at most CATCHUP_S */
                if (due > written + cap)
                    written = due - cap;
                owed = (double)(due - written);
                written = due;
            }
            while (owed >= 1.0) {
                *(volatile uint64_t *)(ws + idx * PAGE) = counter++;
                idx += stride;
                if (idx >= npages)
                    idx %= npages;
                owed -= 1.0;
            }
        }
        if (t - last >= 1.0) {
            static uint64_t pages_total = 0;
            uint64_t d = counter - 1 - pages_total;
            pages_total = counter - 1;
            printf("DIRTIER t=%.3f pages=%llu rate_bps=%.0f target_bps=%.0f\n", t - t0,
                   (unsigned long long)pages_total, d * (double)PAGE / (t - last), rate);
            last = t;
        }
        nanosleep(&ms, NULL);
    }
}
