// The dashboard's entry point: watches live rooms through the JS SDK (observe: read-only), lets
// you join one with your microphone and hear it, and makes the page a phone.
//
// It reads the page's settings, makes the store, creates each feature with what it needs (the
// store, the settings, and the few functions of other features it calls), then starts. Every
// feature lives in features/ (one module each, named for what it shows or does); lib/ holds
// what they share. Up to four sessions, each a GatewayClient from /sdk/ (the built SDK):
//   directory  lists rooms every 2 s                             features/directory.js
//   observer   observes the watched room: events, VAD, levels   features/watch.js
//   me         your participant: microphone out, room audio in  features/join.js
//   phone      the Phone tab: a simulated phone                  features/phone.js

import { startFrames } from './lib/frames.js';
import { readSettings } from './lib/settings.js';
import { createStore } from './lib/store.js';
import { createDirectory } from './features/directory.js';
import { createEventLog } from './features/event-log.js';
import { createHistory } from './features/history.js';
import { createJoin } from './features/join.js';
import { createMessages } from './features/messages.js';
import { createOfflineState } from './features/offline.js';
import { createPhone } from './features/phone.js';
import { createRecording } from './features/recording.js';
import { bindResizers } from './features/resize.js';
import { createRoomList } from './features/room-list.js';
import { createRoomModel } from './features/room-model.js';
import { createRoomView } from './features/room-view.js';
import { bindScreens, bindTabs } from './features/tabs.js';
import { createTelephony } from './features/telephony.js';
import { createTimeline } from './features/timeline.js';
import { createTranscript } from './features/transcript.js';
import { createTurns } from './features/turns.js';
import { createWatcher } from './features/watch.js';

const settings = readSettings(location);
const store = createStore(settings);
window.dashboard = store.state; // for people and tests to inspect; the page never reads it

const room = createRoomModel(store);
const { nameOf } = room;
const roomView = createRoomView(store);
const timeline = createTimeline(store, { nameOf });
const log = createEventLog(store, { nameOf });
const transcript = createTranscript(store, { nameOf });
const messages = createMessages(store, { nameOf });
const { watch } = createWatcher(store, settings, { room, log, transcript, messages });
createRoomList(store, settings, { watch });
const you = createJoin(store, settings, { watch, note: log.note });
const phone = createPhone(store, settings, { watch, note: log.note });
createTelephony(store);
createTurns(store);
createHistory(store);
createRecording(store, settings);
createOfflineState(store);
bindTabs();
bindScreens();
bindResizers();

startFrames([roomView.draw, timeline.draw, you.draw, phone.draw]);
createDirectory(store, settings).start();
