#!/usr/bin/env bash
# Regenerate gateway/assets/demo_speech.wav: three espeak-ng sentences, 16 kHz mono PCM16,
# 0.3 s of silence first, 1 s between sentences and 1.5 s at the end, so that a VAD sees speech
# start and stop (and the loop has a pause).
# Deterministic for a given espeak-ng and sox: fixed voice, speed and pitch, and no dither (-D).
# Needs espeak-ng and sox (apt-get install -y espeak-ng sox).
set -euo pipefail

cd "$(dirname "$0")/.."
out="gateway/assets/demo_speech.wav"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

sentences=(
  "Hello from the daily gateway demo room."
  "I am a simulated participant."
  "Join the room to hear my voice."
)

parts=()
sox -D -n -r 16000 -c 1 -b 16 -e signed-integer "$tmp/lead.wav" trim 0 0.3
parts+=("$tmp/lead.wav")
for i in "${!sentences[@]}"; do
  espeak-ng -v en-us -s 175 -p 50 -a 80 -w "$tmp/raw$i.wav" "${sentences[$i]}"
  # Trim espeak's own leading/trailing silence so the gaps below are exactly what we add.
  sox -D "$tmp/raw$i.wav" -r 16000 -c 1 -b 16 -e signed-integer "$tmp/s$i.wav" \
    silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse
  parts+=("$tmp/s$i.wav")
  if (( i < ${#sentences[@]} - 1 )); then
    sox -D -n -r 16000 -c 1 -b 16 -e signed-integer "$tmp/gap$i.wav" trim 0 1.0
    parts+=("$tmp/gap$i.wav")
  fi
done
sox -D -n -r 16000 -c 1 -b 16 -e signed-integer "$tmp/tail.wav" trim 0 1.5
parts+=("$tmp/tail.wav")

mkdir -p "$(dirname "$out")"
# Normalise the whole file to a -3 dBFS peak: loud enough for any meter, no clipping.
sox -D "${parts[@]}" "$out" gain -n -3
soxi "$out"
