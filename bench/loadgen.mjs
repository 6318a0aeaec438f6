// Load generator for the gateway benchmarks: N WebSocket clients in one Node process.
//
// Every client sends 16 kHz mono PCM16 in 20 ms frames at real time (50 frames/s) and
// receives its peer's (gateway, relay) or its own (pipecat echo) frames back. Each
// frame's PCM starts with a 20-byte marker, so latency survives any re-framing that
// keeps 20 ms alignment:
//
//   offset 0  u64  send time, ns, CLOCK_MONOTONIC (process.hrtime.bigint)
//          8  u32  sender's frame number
//         12  u32  sender's connection index
//         16  u32  MAGIC ("BENC")
//
// Frames whose send time falls in the measurement window [warmup, warmup + duration)
// are counted as sent; those received by the end of the grace period count as
// delivered, and their receive - send time goes into a latency histogram.
//
// Usage: node loadgen.mjs '<json config>'   (bench/run.py builds the config)
// Output: one JSON object per line on stdout: {"event": "ready" | "window_start" |
// "window_end" | "result" | "error", ...}.
//
// Cheapness: one process, one timer wheel of 1 ms slots (connections are spread over
// the 20 slots of a frame period, so the server sees a smooth arrival rate rather than
// N frames at once), zero masking key (RFC 6455 allows any key; no per-byte XOR), no
// per-frame allocation beyond the frame itself.

import { WebSocket } from "ws";

const cfg = JSON.parse(process.argv[2] || "{}");
const MODE = cfg.mode; // "gateway" | "relay" | "pipecat"
const N = cfg.n;
const RATE = cfg.sample_rate ?? 16000;
const FRAME_MS = cfg.frame_ms ?? 20;
const WARMUP_S = cfg.warmup_s ?? 5;
const DURATION_S = cfg.duration_s ?? 60;
const GRACE_S = cfg.grace_s ?? 2;
const RUN_ID = cfg.run_id ?? `r${process.pid}`;
const CONNECT_CONCURRENCY = cfg.connect_concurrency ?? 16;
const VAD = cfg.vad ?? true;
const SLICE_S = cfg.slice_s ?? 10;
const TRACE = cfg.trace ?? 0; // debug: print the first TRACE latencies seen by connection 0
const trace = [];

const MAGIC = 0x434e4542; // "BENC" little-endian
const PCM_BYTES = (2 * RATE * FRAME_MS) / 1000;
const HEADER = 28;
const BIN_US = 50; // latency histogram resolution
const BINS = 40000; // up to 2 s, then overflow
const hr = () => process.hrtime.bigint();
const hrMs = () => Number(process.hrtime.bigint()) / 1e6;

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// ---------------------------------------------------------------- frames

// One 20 ms period of a quiet 400 Hz tone (whole periods, so frames join seamlessly).
const tone = Buffer.alloc(PCM_BYTES);
for (let i = 0; i < PCM_BYTES / 2; i++) {
  tone.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 400 * i) / RATE)), 2 * i);
}

function varint(n) {
  const out = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

// Per mode: a template frame, the offset of the PCM inside it, and a function that
// returns the PCM offset inside a received binary message (or -1).
let template;
let pcmAt;
let findPcm;
if (MODE === "gateway" || MODE === "relay") {
  // protocol/media.py: <BBHIQIIBBH, then PCM.
  template = Buffer.alloc(HEADER + PCM_BYTES);
  template.writeUInt8(1, 0); // version
  template.writeUInt8(1, 1); // kind audio
  template.writeUInt16LE(1, 2); // track 1 = microphone
  template.writeUInt32LE(PCM_BYTES, 16);
  template.writeUInt32LE(RATE, 20);
  template.writeUInt8(1, 24); // channels
  template.writeUInt8(1, 25); // PCM16
  tone.copy(template, HEADER);
  pcmAt = HEADER;
  findPcm = (buf) => (buf.length >= HEADER + 20 && buf[0] === 1 && buf[1] === 1 ? HEADER : -1);
} else if (MODE === "pipecat") {
  // pipecat frames.proto: Frame { audio = 2: AudioRawFrame { audio = 3, sample_rate = 4, num_channels = 5 } }
  const inner = [0x1a, ...varint(PCM_BYTES)];
  const innerTail = [0x20, ...varint(RATE), 0x28, 0x01];
  const innerLen = inner.length + PCM_BYTES + innerTail.length;
  const head = Buffer.from([0x12, ...varint(innerLen), ...inner]);
  template = Buffer.concat([head, tone, Buffer.from(innerTail)]);
  pcmAt = head.length;
  findPcm = findProtobufAudio;
} else {
  emit({ event: "error", error: `unknown mode ${MODE}` });
  process.exit(2);
}

function readVarint(buf, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) return [-1, pos];
    const b = buf[pos++];
    value += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [value, pos];
    shift += 7;
  }
}

// Walk the outer Frame to field 2 (audio), then AudioRawFrame to field 3 (bytes).
function findProtobufAudio(buf) {
  const scan = (start, end, want) => {
    let pos = start;
    while (pos < end) {
      let key;
      [key, pos] = readVarint(buf, pos);
      if (key < 0) return null;
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (wire === 0) {
        [, pos] = readVarint(buf, pos);
      } else if (wire === 2) {
        let len;
        [len, pos] = readVarint(buf, pos);
        if (len < 0 || pos + len > end) return null;
        if (field === want) return [pos, pos + len];
        pos += len;
      } else if (wire === 1) {
        pos += 8;
      } else if (wire === 5) {
        pos += 4;
      } else {
        return null;
      }
    }
    return null;
  };
  const audio = scan(0, buf.length, 2);
  if (!audio) return -1;
  const pcm = scan(audio[0], audio[1], 3);
  return pcm && pcm[1] - pcm[0] >= 20 ? pcm[0] : -1;
}

// ---------------------------------------------------------------- measurement state

let windowStart = 0n;
let windowEnd = 0n;
let measuring = false;
const hist = new Uint32Array(BINS + 1);
const slices = []; // per SLICE_S of send time: histogram
const maxBySecond = []; // per second of send time: worst latency, ms
let sentInWindow = 0;
let receivedInWindow = 0;
let receivedOther = 0; // frames without a marker, or from outside the window
let wrongPeer = 0;
let closedEarly = 0;
const errors = [];

function record(latencyNs, sendNs) {
  let bin = Math.floor(Number(latencyNs) / 1000 / BIN_US);
  if (bin < 0) bin = 0;
  if (bin > BINS) bin = BINS;
  hist[bin]++;
  const sec = Math.floor(Number(sendNs - windowStart) / 1e9);
  const ms = Number(latencyNs) / 1e6;
  if (!(maxBySecond[sec] >= ms)) maxBySecond[sec] = Math.round(ms * 10) / 10;
  const s = Math.floor(Number(sendNs - windowStart) / 1e9 / SLICE_S);
  if (!slices[s]) slices[s] = new Uint32Array(BINS + 1);
  slices[s][bin]++;
}

// Each receiver's least latency in the window is the delay its stream carried throughout
// (a standing queue somewhere), as opposed to jitter; how many streams sit above 10 / 20 /
// 40 ms says whether a high p99 is a few stuck streams or everyone's tail.
function streamFloors() {
  const floors = clients.filter((c) => c.minLatNs >= 0n).map((c) => Number(c.minLatNs) / 1e6);
  floors.sort((a, b) => a - b);
  const over = (ms) => floors.filter((f) => f > ms).length;
  const at = (q) => (floors.length ? Math.round(floors[Math.min(floors.length - 1, Math.floor(q * floors.length))] * 10) / 10 : null);
  return { streams: floors.length, p50: at(0.5), p99: at(0.99), max: at(1), over_10: over(10), over_20: over(20), over_40: over(40) };
}

function percentiles(h) {
  let total = 0;
  for (let i = 0; i <= BINS; i++) total += h[i];
  const want = { p50: 0.5, p90: 0.9, p99: 0.99, p999: 0.999 };
  const out = { count: total };
  if (!total) return out;
  let acc = 0;
  const keys = Object.keys(want);
  let k = 0;
  let max = 0;
  for (let i = 0; i <= BINS; i++) {
    if (!h[i]) continue;
    acc += h[i];
    max = i;
    while (k < keys.length && acc >= want[keys[k]] * total) {
      out[keys[k]] = ((i + 0.5) * BIN_US) / 1000;
      k++;
    }
  }
  out.max = ((max + 1) * BIN_US) / 1000;
  if (max === BINS) out.max = Infinity;
  return out;
}

// ---------------------------------------------------------------- connections

class Client {
  constructor(index) {
    this.index = index;
    this.pair = Math.floor(index / 2);
    this.peer = MODE === "pipecat" ? index : index ^ 1;
    this.seq = 0;
    this.ws = null;
    this.open = false;
    this.minLatNs = -1n; // least latency this receiver saw in the window: a stream's standing delay
  }

  url() {
    if (MODE === "gateway") return cfg.url;
    if (MODE === "relay") return `${cfg.url}${RUN_ID}-${this.pair}`;
    return cfg.url;
  }

  connect() {
    return new Promise((resolve, reject) => {
      const protocols = MODE === "gateway" ? ["daily-gateway.v1"] : [];
      const ws = new WebSocket(this.url(), protocols, {
        perMessageDeflate: false,
        generateMask: (mask) => mask.fill(0),
        maxPayload: 1 << 20,
      });
      this.ws = ws;
      ws.binaryType = "nodebuffer";
      let settled = false;
      const done = (err) => {
        if (settled) return;
        settled = true;
        err ? reject(err) : resolve();
      };
      ws.on("error", (err) => {
        if (!settled) done(err);
        else errors.push(`conn ${this.index}: ${err.message}`);
      });
      ws.on("close", () => {
        if (this.open && !stopping) closedEarly++;
        this.open = false;
        if (!settled) done(new Error(`conn ${this.index} closed during setup`));
      });
      ws.on("message", (data, isBinary) => {
        if (isBinary) return this.onBinary(data);
        if (MODE !== "gateway") return;
        const msg = JSON.parse(data.toString());
        if (msg.type === "hello") {
          ws.send(
            JSON.stringify({
              type: "join",
              id: "join",
              room_url: `local://${RUN_ID}-${this.pair}`,
              user_name: `bench-${this.index}`,
              audio_in: { sample_rate: RATE, channels: 1, frame_ms: FRAME_MS },
              audio_out: { sample_rate: RATE, channels: 1 },
              vad: { enabled: VAD },
            }),
          );
        } else if (msg.type === "reply" && msg.id === "join") {
          if (msg.ok) {
            this.open = true;
            done();
          } else done(new Error(`join failed: ${JSON.stringify(msg.error)}`));
        } else if (msg.type === "error") {
          errors.push(`conn ${this.index}: ${JSON.stringify(msg.error)}`);
        }
      });
      if (MODE !== "gateway") {
        ws.on("open", () => {
          this.open = true;
          done();
        });
      }
    });
  }

  send() {
    if (!this.open) return;
    const buf = Buffer.allocUnsafe(template.length);
    template.copy(buf);
    this.seq++;
    const now = hr();
    if (pcmAt === HEADER) {
      buf.writeUInt32LE(this.seq >>> 0, 4);
      buf.writeBigUInt64LE(now / 1000n, 8);
    }
    buf.writeBigUInt64LE(now, pcmAt);
    buf.writeUInt32LE(this.seq >>> 0, pcmAt + 8);
    buf.writeUInt32LE(this.index, pcmAt + 12);
    buf.writeUInt32LE(MAGIC, pcmAt + 16);
    if (measuring && now >= windowStart && now < windowEnd) sentInWindow++;
    this.ws.send(buf, { binary: true });
  }

  onBinary(buf) {
    const now = hr();
    const at = findPcm(buf);
    if (at < 0 || buf.readUInt32LE(at + 16) !== MAGIC) {
      receivedOther++;
      return;
    }
    const sendNs = buf.readBigUInt64LE(at);
    const sender = buf.readUInt32LE(at + 12);
    if (TRACE && this.index === 0 && trace.length < TRACE) {
      trace.push(Math.round(Number(now - sendNs) / 1e4) / 100);
      if (trace.length === TRACE) emit({ event: "trace", latencies_ms: trace });
    }
    if (sender !== this.peer) {
      wrongPeer++;
      return;
    }
    if (windowStart && sendNs >= windowStart && sendNs < windowEnd) {
      receivedInWindow++;
      const lat = now - sendNs;
      if (this.minLatNs < 0n || lat < this.minLatNs) this.minLatNs = lat;
      record(lat, sendNs);
    } else {
      receivedOther++;
    }
  }
}

let stopping = false;
const clients = Array.from({ length: N }, (_, i) => new Client(i));

async function connectAll() {
  let next = 0;
  const worker = async () => {
    while (next < clients.length) {
      const c = clients[next++];
      await c.connect();
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, N) }, worker));
}

// ---------------------------------------------------------------- pacing

// 1 ms slots; client i sends in slot (i * SLOTS / N) of each period, frame k of slot s is
// due at t0 + k * FRAME_MS + s ms. The pump runs every ~1 ms and sends every frame that
// is due; its lateness is recorded (loadgen health).
const SLOTS = FRAME_MS;
const slots = Array.from({ length: SLOTS }, () => []);
// Spread pairs' members across the period too (index order interleaves them).
clients.forEach((c, i) => slots[Math.floor((i * SLOTS) / N) % SLOTS].push(c));
const lateness = new Uint32Array(1001); // 0.1 ms bins up to 100 ms
let t0 = 0;
let tick = 0;
let pumping = true;

function pump() {
  if (!pumping) return;
  const now = hrMs();
  while (t0 + tick <= now) {
    const late = now - (t0 + tick);
    lateness[Math.min(1000, Math.floor(late * 10))]++;
    for (const c of slots[tick % SLOTS]) c.send();
    tick++;
  }
  setTimeout(pump, Math.max(0, t0 + tick - hrMs()));
}

function latenessPercentile(p) {
  let total = 0;
  for (const v of lateness) total += v;
  let acc = 0;
  for (let i = 0; i < lateness.length; i++) {
    acc += lateness[i];
    if (acc >= p * total) return i / 10;
  }
  return 100;
}

// ---------------------------------------------------------------- main

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const tConnect = hrMs();
  try {
    await connectAll();
  } catch (err) {
    emit({ event: "error", error: `connect: ${err.message}` });
    process.exit(1);
  }
  emit({ event: "ready", connections: N, connect_ms: Math.round(hrMs() - tConnect) });
  t0 = hrMs() + 50;
  pump();
  await sleep(WARMUP_S * 1000);
  windowStart = hr();
  windowEnd = windowStart + BigInt(Math.round(DURATION_S * 1e9));
  measuring = true;
  const cpu0 = process.cpuUsage();
  emit({ event: "window_start" });
  lateness.fill(0);
  await sleep(DURATION_S * 1000);
  const cpu1 = process.cpuUsage(cpu0);
  emit({ event: "window_end" });
  const lagP99 = latenessPercentile(0.99);
  const lagMax = latenessPercentile(1.0);
  // Keep sending through the grace period (a real call goes on), then stop.
  await sleep(GRACE_S * 1000);
  pumping = false;
  stopping = true;
  const cpuPct = ((cpu1.user + cpu1.system) / 1e6 / DURATION_S) * 100;
  const lat = percentiles(hist);
  emit({
    event: "result",
    mode: MODE,
    connections: N,
    duration_s: DURATION_S,
    sent: sentInWindow,
    received: receivedInWindow,
    delivered: sentInWindow ? receivedInWindow / sentInWindow : 0,
    latency_ms: lat,
    latency_by_slice_ms: slices.map((h) => {
      const p = percentiles(h || new Uint32Array(BINS + 1));
      return { p50: p.p50, p99: p.p99, max: p.max };
    }),
    max_by_second_ms: Array.from(maxBySecond, (v) => v ?? null),
    received_other: receivedOther,
    wrong_peer: wrongPeer,
    closed_early: closedEarly,
    errors: errors.slice(0, 10),
    stream_floor_ms: streamFloors(),
    loadgen_cpu_pct: Math.round(cpuPct * 10) / 10,
    loadgen_lag_ms: { p99: lagP99, max: lagMax },
    loadgen_rss_mb: Math.round(process.memoryUsage().rss / 1e5) / 10,
  });
  for (const c of clients) c.ws.terminate();
  process.exit(0);
}

main();
