#!/usr/bin/env bash
# Runs ./slimq with the given arguments and reports, on stderr, its wall time and peak memory sampled
# from /proc every 20 ms: RssAnon (private, anonymous memory: the heap and native buffers), RssFile
# (mapped file pages resident at that moment) and VmRSS (their sum). Stdout of slimq passes through.
# Usage: scripts/measure.sh ARGS...   (sourced by the bench scripts; also usable alone)
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s.%N)
./slimq "$@" &
pid=$!
peak_anon=0; peak_file=0; peak_rss=0
while kill -0 "$pid" 2>/dev/null; do
  if read -r anon file rss < <(awk '/^RssAnon/{a=$2} /^RssFile/{f=$2} /^VmRSS/{r=$2} END{print a+0, f+0, r+0}' "/proc/$pid/status" 2>/dev/null); then
    (( anon > peak_anon )) && peak_anon=$anon
    (( file > peak_file )) && peak_file=$file
    (( rss > peak_rss )) && peak_rss=$rss
  fi
  sleep 0.02
done
set +e
wait "$pid"
rc=$?
set -e
t1=$(date +%s.%N)
printf 'measure: rc %d, wall %.2f s, peak RssAnon %d MiB, peak RssFile %d MiB, peak VmRSS %d MiB\n' "$rc" \
  "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" $((peak_anon / 1024)) $((peak_file / 1024)) $((peak_rss / 1024)) >&2
exit "$rc"
