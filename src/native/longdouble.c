/*
 * Long-double arithmetic for INCRBYFLOAT and HINCRBYFLOAT.
 *
 * Redis parses both operands with strtold, adds them as `long double` and prints the sum with
 * "%.17Lf" minus trailing zeros. Rust has no 80-bit float, and f64 gives visibly different
 * answers (0.1 + 0.2 prints 0.30000000000000004 instead of 0.3), so the whole operation lives here.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LD_MAX_CHARS (5 * 1024)

/* Returns 1 and stores the value when `s` is a complete, finite long double as Redis accepts it. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[LD_MAX_CHARS];
    char *end;
    long double v;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtold(buf, &end);
    /* The length check rejects values with an embedded NUL, which strtold would stop at. */
    if (isspace((unsigned char)buf[0]) || end[0] != '\0' || (size_t)(end - buf) != len ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        errno == EINVAL || isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Formats like Redis's ld2string(LD_STR_HUMAN). Returns the length, or -1 when it does not fit. */
static int format_ld(long double v, char *out, size_t cap) {
    int n = snprintf(out, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n + 1 > cap) return -1;
    if (strchr(out, '.') != NULL) {
        char *p = out + n - 1;
        while (*p == '0') { p--; n--; }
        if (*p == '.') n--;
    }
    if (n == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; n = 1; }
    out[n] = '\0';
    return n;
}

/*
 * Adds two decimal strings as long doubles.
 * Returns 0 and writes the formatted sum (length in *out_len) on success; 1 when `a` is not a
 * valid float, 2 when `b` is not, 3 when the sum is NaN or infinite, 4 when it does not fit.
 */
int aofd_ld_add(const char *a, size_t a_len, const char *b, size_t b_len,
                char *out, size_t out_cap, size_t *out_len) {
    long double x, y, sum;
    int n;
    if (!parse_ld(a, a_len, &x)) return 1;
    if (!parse_ld(b, b_len, &y)) return 2;
    sum = x + y;
    if (isnan(sum) || isinf(sum)) return 3;
    n = format_ld(sum, out, out_cap);
    if (n < 0) return 4;
    *out_len = (size_t)n;
    return 0;
}

/* Returns 1 when `s` parses as a long double the way Redis accepts it. */
int aofd_ld_valid(const char *s, size_t len) {
    long double v;
    return parse_ld(s, len, &v);
}
