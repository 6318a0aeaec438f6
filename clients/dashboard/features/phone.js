// The Phone tab: the page as a simulated phone of local rooms (PROTOCOL.md 5.9).
//
// Its own session, registered with a number (register-phone). A call to it arrives as
// phone-ringing; answer-call joins its room with the media given at registration, so the
// microphone and player start in the Answer click, as "Join with microphone" does. In a
// call the keypad is send-dtmf (a phone needs no sessionId: everyone else in the call gets
// dtmf-event), and leave hangs up; call-ended returns the phone to "registered". While it rings, a
// banner under the top bar (announced: role="alert") names the caller, wherever the page is.

import { $, clock, describeError, el, toast } from '../lib/dom.js';
import { PeakMeter, startAudio, stopAudio } from '../lib/audio.js';
import { newClient } from '../lib/settings.js';

const SAMPLE_RATE = 48000;
const WAITING = 'registered · waiting for calls';
/** Keys shown in the display, each way. */
const DISPLAY_KEYS = 24;
const PHONE_LOG_LIMIT = 30;

/** Who is calling, in words: the caller's name if the ring has one, else their number or room. */
export function callerName(ring) {
  return ring.caller_name || ring.display_name || ring.from || ring.room_url;
}

/** mm:ss */
function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** Binds the Phone tab; `watch` is watch.js's, `note` the event log's. Returns draw(now) for its meter and timer. */
export function createPhone(store, settings, { watch, note }) {
  const phone = store.state.phone;
  const meter = new PeakMeter($('phone-level'));

  function phoneNote(text) {
    const log = $('phone-log');
    log.prepend(el('li', {}, el('span', { class: 't', text: clock() }), text));
    while (log.children.length > PHONE_LOG_LIMIT) log.lastElementChild.remove();
  }

  function setState(next, status) {
    phone.state = next;
    $('phone').dataset.state = next;
    $('phone-dot').dataset.state = next;
    $('phone-incoming').hidden = next !== 'ringing';
    $('ring-banner').hidden = next !== 'ringing';
    for (const key of document.querySelectorAll('#keypad .key')) key.disabled = next !== 'in-call';
    if (next !== 'in-call') $('phone-timer').textContent = '';
    if (status) $('phone-status').textContent = status;
  }

  function showDisplay() {
    const { sent, received } = phone;
    $('phone-display').textContent = sent || received ? `${sent}${received ? `  ← ${received}` : ''}` : '';
  }

  async function register(number) {
    if (phone.client) return;
    $('phone-register').disabled = true;
    const client = newClient(settings);
    try {
      client.on('protocol-error', (err) => phoneNote(`error: ${describeError(err)}`));
      client.on('phone-ringing', ringing);
      client.on('call-ended', ({ call_id: callId, reason }) => endCall(callId, reason));
      client.on('dtmf-event', ({ data }) => {
        phone.received = (phone.received + data.tone).slice(-DISPLAY_KEYS);
        showDisplay();
        phoneNote(`tone ${data.tone} from the call`);
      });
      client.on('reconnected', () => phoneNote('reconnected; the number is registered again'));
      await client.connect();
      // Every call uses these media: the page's 48 kHz microphone out, the call's audio in.
      const registered = await client.registerPhone(number, {
        audio_out: { sample_rate: SAMPLE_RATE },
        audio_in: { sample_rate: SAMPLE_RATE, frame_ms: 20 },
        vad: { enabled: false },
      });
      Object.assign(phone, { client, number: registered });
      $('phone-own-number').textContent = registered;
      setState('registered', WAITING);
      phoneNote(`registered ${registered}`);
      note(`phone ${registered} registered`);
    } catch (err) {
      toast(`cannot register ${number}: ${describeError(err)}`);
      await client.close().catch(() => {});
    } finally {
      $('phone-register').disabled = false;
    }
  }

  function ringing(data) {
    if (phone.state !== 'registered') return; // busy: the caller keeps ringing until it stops
    phone.ring = data;
    // The caller's name (the dialer's displayName) when the gateway gives it; `from` is the dialer's
    // callerId, or the room when it gave none.
    const name = callerName(data);
    const number = data.from && data.from !== name && data.from !== data.room_url ? data.from : '';
    $('phone-from').textContent = name;
    $('phone-from-number').textContent = number;
    $('phone-room').textContent = data.from !== data.room_url ? `in ${data.room_url}` : '';
    $('ring-caller').textContent = number ? `${name} (${number})` : name;
    $('ring-room').textContent = `in ${data.room_url}`;
    setState('ringing', `ringing · ${data.direction ?? 'incoming'} call`);
    phoneNote(`ringing: ${name} in ${data.room_url}`);
  }

  /** Start the microphone and player in the click (browsers start audio only after a gesture). */
  function startCallAudio() {
    return startAudio({ sampleRate: SAMPLE_RATE, voiceProcessing: settings.voiceProcessing, volume: Number($('volume').value) });
  }

  /** In a call: publish the microphone, play the call, watch its room. */
  async function inCall(audio, joined, label) {
    const { context, mic, player } = audio;
    Object.assign(phone, { context, mic, player, sent: '', received: '' });
    phone.call = { id: joined.call_id, room: joined.room_url, participantId: joined.participant_id, startedAt: performance.now() };
    phone.unpipe = mic.pipeTo(phone.client);
    phone.detach = player.attach(phone.client);
    showDisplay();
    setState('in-call', `in a call · ${label}`);
    phoneNote(`in the call in ${joined.room_url}`);
    if (store.state.selected !== joined.room_url) await watch(joined.room_url);
  }

  async function answer() {
    const ring = phone.ring;
    if (!ring || phone.state !== 'ringing') return;
    $('phone-answer').disabled = $('ring-answer').disabled = true;
    let audio;
    try {
      audio = await startCallAudio();
      const joined = await phone.client.answerCall(ring.call_id);
      phone.ring = null;
      await inCall(audio, joined, ring.from);
    } catch (err) {
      await stopAudio(audio);
      toast(`cannot answer: ${describeError(err)}`);
      setState('registered', WAITING);
    } finally {
      $('phone-answer').disabled = $('ring-answer').disabled = false;
    }
  }

  async function decline() {
    const ring = phone.ring;
    if (!ring) return;
    phone.ring = null;
    setState('registered', WAITING);
    try {
      await phone.client.rejectCall(ring.call_id);
      phoneNote(`declined ${ring.from}`);
    } catch (err) {
      toast(describeError(err));
    }
  }

  async function dial(to) {
    if (phone.state !== 'registered') return;
    $('phone-dial').disabled = true;
    let audio;
    try {
      audio = await startCallAudio();
      const joined = await phone.client.dial(to);
      await inCall(audio, joined, to);
    } catch (err) {
      await stopAudio(audio);
      toast(`cannot dial ${to}: ${describeError(err)}`);
    } finally {
      $('phone-dial').disabled = false;
    }
  }

  /** The call ended (our hang-up, the bot's stop-dialout, a transfer): back to waiting. */
  async function endCall(callId, reason) {
    if (phone.ring?.call_id === callId) {
      phone.ring = null;
      phoneNote(`the caller gave up (${reason})`);
    } else if (phone.call && phone.call.id !== callId) return;
    const audio = { mic: phone.mic, player: phone.player, context: phone.context };
    const call = phone.call;
    phone.unpipe?.();
    phone.detach?.();
    Object.assign(phone, { call: null, mic: null, player: null, context: null, unpipe: null, detach: null });
    meter.reset();
    $('phone-mute').textContent = 'Mute';
    $('phone-mute').classList.remove('on');
    setState('registered', WAITING);
    if (call) phoneNote(`call ended (${reason}) after ${duration(performance.now() - call.startedAt)}`);
    await stopAudio(audio);
  }

  async function pressKey(key) {
    if (phone.state !== 'in-call') return;
    phone.sent = (phone.sent + key).slice(-DISPLAY_KEYS);
    showDisplay();
    // One request per key, each after the previous one's reply, so that fast presses arrive in order.
    const client = phone.client;
    phone.keys = (phone.keys ?? Promise.resolve()).then(() =>
      client.sendDtmf(key, { digitDurationMs: 100 }).catch((err) => toast(`DTMF ${key}: ${describeError(err)}`)));
    await phone.keys;
  }

  async function hangUp() {
    if (phone.state !== 'in-call') return;
    try {
      await phone.client.leave(); // call-ended follows, and endCall tears the audio down
    } catch (err) {
      toast(`hang up: ${describeError(err)}`);
    }
  }

  $('phone-register-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const number = $('phone-number').value.trim();
    if (!number) {
      toast('type a number to register, e.g. +12125550123');
      return;
    }
    register(number);
  });
  $('phone-answer').addEventListener('click', answer);
  $('phone-reject').addEventListener('click', decline);
  $('ring-answer').addEventListener('click', answer);
  $('ring-decline').addEventListener('click', decline);
  $('phone-hangup').addEventListener('click', hangUp);
  $('phone-mute').addEventListener('click', () => {
    if (!phone.mic) return;
    phone.mic.muted = !phone.mic.muted;
    $('phone-mute').textContent = phone.mic.muted ? 'Unmute' : 'Mute';
    $('phone-mute').classList.toggle('on', phone.mic.muted);
  });
  $('phone-dial-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const to = $('phone-dial-to').value.trim();
    if (to) dial(to);
  });
  for (const key of document.querySelectorAll('#keypad .key')) {
    key.disabled = true;
    key.addEventListener('click', () => pressKey(key.dataset.key));
  }
  document.addEventListener('keydown', (event) => {
    // Typing digits on the keyboard presses the keypad while in a call (not while typing in a field).
    if (phone.state !== 'in-call' || event.target.closest?.('input, textarea')) return;
    const key = document.querySelector(`#keypad .key[data-key="${CSS.escape(event.key)}"]`);
    if (!key) return;
    key.classList.add('pressed');
    setTimeout(() => key.classList.remove('pressed'), 150);
    pressKey(event.key);
  });
  if (settings.phoneNumber) $('phone-number').value = settings.phoneNumber;

  function draw(now) {
    if (phone.mic) meter.update(phone.mic.level);
    if (phone.call) $('phone-timer').textContent = duration(now - phone.call.startedAt);
  }

  return { draw };
}
