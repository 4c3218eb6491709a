# bench/stats.sh: the rounds' statistics and the target lines of bench/live and bench/replay
# (sourced, not run). Values are one per round, whitespace-separated; empty ones are skipped.

# rounds_stat WHAT VALUES...: median, min, max or count of the values; "" when there are
# none, "?" (but for count) when one is not a number (an unknown lost counter, say).
rounds_stat() {
    local what=$1
    shift
    printf '%s\n' "$@" | sort -g | awk -v what="$what" '
        NF { v[++n] = $1; if ($1 !~ /^-?[0-9.]+$/) bad = 1 }
        END {
            if (what == "count") { print n + 0; exit }
            if (n == 0) { print ""; exit }
            if (bad) { print "?"; exit }
            if (what == "min") print v[1]
            else if (what == "max") print v[n]
            else print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }'
}

# rounds_cell DECIMALS VALUES...: "median (min-max)", "-" without values, "?" if unknown.
rounds_cell() {
    local decimals=$1 med
    shift
    med=$(rounds_stat median "$@")
    case $med in
    '') echo - ;;
    '?') echo '?' ;;
    *) awk -v m="$med" -v a="$(rounds_stat min "$@")" -v b="$(rounds_stat max "$@")" \
        -v d="$decimals" 'BEGIN { f = "%." d "f"; printf f " (" f "-" f ")\n", m, a, b }' ;;
    esac
}

# ratio A B: A / B to 3 decimals; empty when either is empty or B is 0.
ratio() {
    [[ -n $1 && -n $2 ]] || return 0
    awk -v a="$1" -v b="$2" 'BEGIN { if (b != 0) printf "%.3f", a / b }'
}

# target_line LABEL VALUE OP TARGET: the value against its target (OP one of <= < >= ==),
# PASS or FAIL; n/a when the value or the target is missing, FAIL when the value is "?".
target_line() {
    local label=$1 value=$2 op=$3 target=$4
    if [[ -z $value || -z $target ]]; then
        printf '%-46s %10s  (target %s %s)  n/a\n' "$label" - "$op" "${target:--}"
        return
    fi
    awk -v l="$label" -v v="$value" -v op="$op" -v t="$target" 'BEGIN {
        ok = v !~ /^-?[0-9.]+$/ ? 0 : op == "<=" ? v + 0 <= t + 0 : op == "<" ? v + 0 < t + 0 \
            : op == ">=" ? v + 0 >= t + 0 : v + 0 == t + 0
        printf "%-46s %10s  (target %s %s)  %s\n", l, v, op, t, ok ? "PASS" : "FAIL" }'
}
