// Honest state: while the gateway is unreachable every panel of live data is greyed and a banner
// says since when ("last seen"), so a frozen card is never mistaken for a silent room; all of it
// comes back when the directory reconnects (the observer re-observes by itself, watch.js).

import { $, clock } from '../lib/dom.js';
import { Change } from '../lib/store.js';

/** Follows the store's CONNECTION change. */
export function createOfflineState(store) {
  const { state } = store;
  let everOnline = false;

  function render(online) {
    everOnline ||= online;
    // Before the first answer the top bar's badge says "connecting"; greying starts once data was shown.
    const stale = everOnline && !online;
    document.body.dataset.online = String(!stale);
    $('offline-banner').hidden = !stale;
    if (stale) {
      $('last-seen').textContent = state.lastSeen ? clock(state.lastSeen).slice(0, 8) : 'never';
    }
  }

  store.on(Change.CONNECTION, render);
}
