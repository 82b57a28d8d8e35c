#!/usr/bin/env bash
# Regenerates the independent references for ../shared/corpus:
#  - corpus-packets.tsv: every capture's packet count as Wireshark's capinfos reads it
#    ("-" where capinfos cannot read the file, with its reason);
#  - corpus/*.packets.tsv: tshark's per-packet view of the files listed in corpus/FILES;
#  - corpus/*.streams.tsv: tshark's TCP/UDP streams of the files in corpus/SESSION_FILES.
# Needs tshark (which brings capinfos).
set -euo pipefail
cd "$(dirname "$0")"
CORPUS=${CORPUS:-../../../shared/corpus}
(cd "$CORPUS" && find . -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.gz' \) | sed 's|^\./||' | LC_ALL=C sort) |
  while read -r f; do
    if n=$(capinfos -c -M -T -r "$CORPUS/$f" 2>/tmp/capinfos.err | cut -f2) && [ -n "$n" ]; then
      printf '%s\t%s\n' "$f" "$n"
    else
      printf '%s\t-\t%s\n' "$f" "$(head -c 160 /tmp/capinfos.err | tr '\n\t' '  ')"
    fi
  done > corpus-packets.tsv
while read -r f; do
  ../../fixtures/tshark-packets.sh "$CORPUS/$f" > "corpus/$(echo "$f" | tr / _).packets.tsv"
done < corpus/FILES
while read -r f; do
  ../../fixtures/tshark-streams.sh "$CORPUS/$f" > "corpus/$(echo "$f" | tr / _).streams.tsv"
done < corpus/SESSION_FILES
