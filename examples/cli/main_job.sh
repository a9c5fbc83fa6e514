#!/bin/sh
# The main job from a terminal (the README's quick start): a store, an
# import of the sample file as marketing contacts with the typed
# confirmation, a bulk change by filter, the billing summary, the report.
#   sh examples/cli/main_job.sh HUBC SAMPLE.csv [DIR]
set -eu
hubc=$1
data=$2
dir=${3:-$(mktemp -d)}
mkdir -p "$dir"
export HUBC_STORE="$dir/contacts.hubc"
rm -f "$HUBC_STORE" "$HUBC_STORE.snap" "$HUBC_STORE.settings"
cp "$data" "$dir/sample.csv"
number() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# A fixed clock walks the account through three months (HUBC_CLOCK: UTC
# seconds), so update dates pass and the report has periods to draw.
day() { python3 -c 'import calendar, sys; print(calendar.timegm((int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), 9, 0, 0)))' "$@"; }
export HUBC_CLOCK=$(day 2024 1 10)
echo "== init";    "$hubc" init --admin owner@example.com --subscription professional
echo "== plan";    n=$("$hubc" --json import "$dir/sample.csv" --marketing --plan 2>/dev/null | number to_set_marketing)
echo "   $n contacts will be set as marketing"
echo "== import";  "$hubc" import "$dir/sample.csv" --marketing --yes "$n"
echo "== Roma's leads stop being marketing at the next update date"
f="city = 'Roma' AND lifecyclestage = 'lead'"
k=$("$hubc" --json set-non-marketing --filter "$f" --plan | number selected)
"$hubc" set-non-marketing --filter "$f" --yes "$k"
export HUBC_CLOCK=$(day 2024 3 20)   # two update dates later (10 Feb, 10 Mar)
echo "== billing"; "$hubc" billing
"$hubc" billing report --svg "$dir/billing.svg"
echo "== store, error file and chart in $dir"
