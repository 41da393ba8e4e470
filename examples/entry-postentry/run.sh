#!/usr/bin/env bash
# The reference study end to end: transcripts -> codings of three coders -> Table 2,
# the direct/indirect split and the Excel synthesis workbook, all under OUT (default out/).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${1:-out}"
QDA="${QDA:-qda}"

rm -rf "$OUT/project"
mkdir -p "$OUT"
"$QDA" init "$OUT/project" --lang fr
qda() { "$QDA" -p "$OUT/project" "$@"; }

qda codebook load "$ROOT/codebooks/communication-tools.yaml"
qda import transcripts "$HERE"/transcripts/*.txt
qda import cases "$HERE/profiles.csv"
for coder in coder-a coder-b consensus; do
    qda code import "$HERE/$coder.xlsx" --coder "$coder"
done

qda code adjudicate "$HERE/adjudication.xlsx" --coder adjudicated

echo
qda agree coder-a coder-b --unit document -o "$OUT/reliability.html" -o "$OUT/reliability.xlsx"
qda matrix cross --by group --coder consensus
qda matrix split --code-attr mode --by group --coder consensus
qda matrix split --code-attr reach --where mode=direct --by group --coder consensus
qda export workbook -o "$OUT/synthesis.xlsx" --coder consensus --by group --code-attr mode --agree coder-a --agree coder-b
qda report -o "$OUT/synthesis.html" --coder consensus --by group --code-attr mode --agree coder-a --agree coder-b

echo
echo "Code, compare and adjudicate in the browser (the two coders are blind to each other; --unblind to compare):"
echo "  $QDA serve -p $OUT/project"
