/* HybridCloud units: HC.units formats sizes, rates, durations, percentages and instants with exactly the rules of
 * hybridcloud/core/units.py (read its docstring; a browser test asserts both give the same strings).
 *
 * Numbers round half away from zero on their exact value (toFixed; Python uses Decimal the same way), thousands
 * are grouped with commas, an unknown value reads "–". Instants are shown in the operator's time zone, named, read
 * from <html data-time-zone> (settings.TIME_ZONE), never in the browser's own zone.
 */
(function () {
  "use strict";
  const HC = (window.HC = window.HC || {});
  const UNKNOWN = "–";
  const KIB = 2 ** 10, MIB = 2 ** 20, GIB = 2 ** 30, TIB = 2 ** 40;
  const MB = 1e6, GB = 1e9;
  const USAGE_WARN = 0.7, USAGE_HIGH = 0.9;
  const BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  const BITS = [[1e9, "Gbit/s"], [1e6, "Mbit/s"], [1e3, "kbit/s"], [1, "bit/s"]];

  // The value as a finite number, or null when unknown (as Python's _number: booleans and "" are unknown).
  function number(value) {
    if (value === null || value === undefined || value === "" || typeof value === "boolean") return null;
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }

  // A non-negative x with `digits` decimals, rounded half away from zero on its exact value, commas grouped.
  function fixed(x, digits) {
    let text;
    if (typeof x === "string") text = x; // an exact integer already
    else if (x >= 1e21) text = BigInt(x).toString() + (digits ? "." + "0".repeat(digits) : ""); // integers past 2**53
    else text = x.toFixed(digits);
    const [whole, frac] = text.split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return frac === undefined ? grouped : grouped + "." + frac;
  }

  function rounded(x, digits) { return Number(x.toFixed(digits)); }

  function signed(x, text) { return x < 0 && /[1-9]/.test(text) ? "-" + text : text; }

  function formatBytes(n) {
    const x = number(n);
    if (x === null) return UNKNOWN;
    const a = Math.abs(x);
    let unit = 0;
    while (unit < BINARY.length - 1 && a >= 1024 ** (unit + 1)) unit++;
    const v = a / 1024 ** unit;
    let text = unit && rounded(v, 1) < 10 ? fixed(v, 1) : fixed(v, 0);
    if (text === "1,024" && unit < BINARY.length - 1) { unit++; text = "1.0"; }
    return signed(x, text + " " + BINARY[unit]);
  }

  function formatRate(bytesPerS) {
    const x = number(bytesPerS);
    if (x === null) return UNKNOWN;
    const a = Math.abs(x);
    return signed(x, a >= 10 * GB ? fixed(a / GB, 1) + " GB/s" : fixed(a / MB, 1) + " MB/s");
  }

  function formatBitrate(bitsPerS) {
    const x = number(bitsPerS);
    if (x === null) return UNKNOWN;
    const a = Math.abs(x);
    for (let i = 0; i < BITS.length; i++) {
      const [scale, name] = BITS[i];
      if (a >= scale || scale === 1) {
        let unit = name;
        let text = fixed(a / scale, 2).replace(/0+$/, "").replace(/\.$/, "");
        if (text === "1,000" && i > 0) { text = "1"; unit = BITS[i - 1][1]; }
        return signed(x, text + " " + unit);
      }
    }
    return UNKNOWN;
  }

  function formatMbit(mbit) {
    const x = number(mbit);
    return x === null ? UNKNOWN : formatBitrate(x * 1e6);
  }

  function pad2(n) { return n < 10 ? "0" + n : String(n); }

  function formatDuration(seconds) {
    const x = number(seconds);
    if (x === null) return UNKNOWN;
    const a = Math.abs(x);
    const whole = rounded(a, 0);
    let text;
    if (a < 1 && rounded(a * 1000, 0) < 1000) text = fixed(a * 1000, 0) + " ms";
    else if (rounded(a, 1) < 60) text = fixed(a, 1) + " s";
    else if (whole < 3600) text = Math.floor(whole / 60) + " min " + pad2(whole % 60) + " s";
    else {
      const minutes = BigInt(rounded(a / 60, 0)); // exact integer division, as Python's
      text = fixed((minutes / 60n).toString(), 0) + " h " + pad2(Number(minutes % 60n)) + " min";
    }
    return signed(x, text);
  }

  function formatPercent(fraction) {
    const x = number(fraction);
    return x === null ? UNKNOWN : signed(x, fixed(Math.abs(x * 100), 1) + " %");
  }

  function formatSignedPercent(fraction) {
    const x = number(fraction);
    if (x === null) return UNKNOWN;
    const text = formatPercent(x);
    return text.startsWith("-") ? text : "+" + text;
  }

  function usageFraction(used, total) {
    const u = number(used), t = number(total);
    if (!t || t <= 0) return 0;
    return Math.min(1, Math.max(0, (u || 0) / t));
  }

  function usageLevel(fraction) {
    const x = number(fraction);
    if (x === null || x < USAGE_WARN) return "ok";
    return x >= USAGE_HIGH ? "high" : "warn";
  }

  function barWidth(fraction) { return (usageFraction(fraction, 1) * 100).toFixed(1) + "%"; }

  function timeZoneName() { return document.documentElement.dataset.timeZone || "UTC"; }

  // The wall-clock fields of an instant in the operator's zone. Python's fromisoformat reads the same strings.
  function localParts(value) {
    if (value === null || value === undefined || value === "") return null;
    let at = value instanceof Date ? value : new Date(typeof value === "string" && !/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value + "Z" : value);
    if (isNaN(at.getTime())) return null;
    const parts = {};
    const format = new Intl.DateTimeFormat("en-GB", {
      timeZone: timeZoneName(), hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    for (const p of format.formatToParts(at)) parts[p.type] = p.value;
    return parts;
  }

  function formatDatetime(value, options) {
    const p = localParts(value);
    if (!p) return UNKNOWN;
    const seconds = options && options.seconds ? ":" + p.second : "";
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + seconds + " " + timeZoneName();
  }

  function formatTime(value, options) {
    const p = localParts(value);
    if (!p) return UNKNOWN;
    const seconds = options && options.seconds === false ? "" : ":" + p.second;
    return p.hour + ":" + p.minute + seconds + " " + timeZoneName();
  }

  HC.units = {
    KIB, MIB, GIB, TIB, MB, GB, USAGE_WARN, USAGE_HIGH,
    formatBytes, formatRate, formatBitrate, formatMbit, formatDuration, formatPercent, formatSignedPercent,
    usageFraction, usageLevel, barWidth, timeZoneName, formatDatetime, formatTime,
  };
})();
