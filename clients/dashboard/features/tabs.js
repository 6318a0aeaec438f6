// Tabs, as WAI-ARIA's tabs pattern: the side panel's (Events, Transcript, Messages, Phone) and, on a
// phone-sized screen, the panels' (Rooms, Room, Events). One tab selected (aria-selected, the only
// one in the Tab order); arrow keys, Home and End move between tabs and select them.

/**
 * Makes the role="tab" buttons of `tablist` select one at a time; `show(tab)` shows what the tab
 * stands for. Returns select(tab).
 */
export function bindTablist(tablist, show) {
  const tabs = () => [...tablist.querySelectorAll('[role="tab"]')];

  function select(tab, { focus = false } = {}) {
    for (const other of tabs()) {
      const on = other === tab;
      other.setAttribute('aria-selected', String(on));
      other.tabIndex = on ? 0 : -1;
      other.classList.toggle('active', on);
    }
    show(tab);
    if (focus) tab.focus();
  }

  tablist.addEventListener('click', (event) => {
    const tab = event.target.closest('[role="tab"]');
    if (tab && tablist.contains(tab)) select(tab);
  });
  tablist.addEventListener('keydown', (event) => {
    const all = tabs();
    const at = all.indexOf(document.activeElement);
    if (at < 0) return;
    const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    select(all[(next + all.length) % all.length], { focus: true });
  });
  return { select };
}

/** The side panel's tabs: each shows the .tabpane whose data-pane is its data-tab. Returns select(name). */
export function bindTabs() {
  const tablist = document.querySelector('.side .tabs');
  const { select } = bindTablist(tablist, (tab) => {
    for (const pane of document.querySelectorAll('.tabpane')) pane.classList.toggle('active', pane.dataset.pane === tab.dataset.tab);
    tablist.dispatchEvent(new CustomEvent('tab-shown', { detail: tab.dataset.tab }));
  });
  return { select: (name) => select(tablist.querySelector(`[data-tab="${name}"]`)) };
}

/** The phone-sized layout's panel tabs (#screens): each shows one panel. Returns select(name). */
export function bindScreens() {
  const tablist = document.getElementById('screens');
  const { select } = bindTablist(tablist, (tab) => (document.getElementById('layout').dataset.screen = tab.dataset.screen));
  return { select: (name) => select(tablist.querySelector(`[data-screen="${name}"]`)) };
}
