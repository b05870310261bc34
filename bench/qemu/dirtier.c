/*
 * Page dirtier for the QEMU calibration guest (bench/qemu). Static, runs from the initramfs.
 *
 * Usage: dirtier WS_MIB RATE_BPS
 *   Fills a working set of WS_MIB MiB with non-zero data (so none of it is a zero page), then
 *   rewrites it page by page, cyclically, at RATE_BPS bytes per second (one 8-byte store per
 *   4 KiB page dirties the page; the stored value is a never-zero counter). The pages are visited
 *   in a fixed scrambled order (a stride of STRIDE pages, coprime with the page count), so that
 *   the writes do not run along QEMU's address-ordered scan. Pacing: every 1 ms the pages due
 *   since the start are written, then it sleeps. Within any interval of length T the distinct
 *   pages dirtied are min(RATE x T, WS), the rule the engine models.
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
    printf("DIRTIER start ws_pages=%lu target_bps=%.0f\n", npages, rate);
    double t0 = now(), last = t0;
    uint64_t written = 0, counter = 1;
    unsigned long idx = 0;
    unsigned long stride = (npages % STRIDE) ? STRIDE : 1; /* STRIDE is prime */
    struct timespec ms = {0, 1000000};
    for (;;) {
        double t = now();
        if (npages && rate > 0) {
            uint64_t due = (uint64_t)((t - t0) * rate / PAGE);
            /* Never catch up more than CATCHUP_S of lag: while auto-converge holds the vCPU, the
             * work of those ticks is lost, so the achieved rate falls with the throttle as a
             * CPU-bound guest's would, instead of being made up in the next run slice. */
            uint64_t cap = (uint64_t)(rate * CATCHUP_S / PAGE) + 1;
            if (due > written + cap) {
                written = due - cap;
            }
            while (written < due) {
                *(volatile uint64_t *)(ws + idx * PAGE) = counter++;
                idx += stride;
                if (idx >= npages)
                    idx %= npages;
                written++;
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
