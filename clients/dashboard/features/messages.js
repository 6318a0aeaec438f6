// The Messages tab: the room's app messages (an observer also sees targeted ones, as
// sender → recipient), and a form that sends text or JSON to everyone once you have joined.

import { $, clock, describeError, el, toast } from '../lib/dom.js';

/** Binds the send form; returns add(data) for app-message. */
export function createMessages(store, { nameOf }) {
  const { state } = store;

  function add(data) {
    state.counters.messages += 1;
    $('msg-count').textContent = String(state.counters.messages);
    const body = typeof data.message === 'string' ? data.message : JSON.stringify(data.message, null, 2);
    const who = el('div', { class: 'who' }, el('b', { text: nameOf(data.sender) }));
    if (data.to) who.append(el('span', { class: 'to', text: ` → ${nameOf(data.to)}` }));
    who.append(` · ${clock()}`);
    $('messages').append(el('li', { 'data-sender': data.sender }, who, el('pre', { text: body })));
    $('messages').scrollTop = $('messages').scrollHeight;
  }

  $('send-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('send-text').value.trim();
    if (!text) return;
    if (!state.me) {
      toast('join the room to send app messages (watching is read-only)');
      return;
    }
    let message = text;
    try {
      message = JSON.parse(text);
    } catch {
      /* plain text */
    }
    try {
      await state.me.sendAppMessage(message);
      $('send-text').value = '';
    } catch (err) {
      toast(describeError(err));
    }
  });

  return { add };
}
