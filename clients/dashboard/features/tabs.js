// The side panel's tabs (Events, Transcript, Messages, Phone): one pane shown at a time.

/** Makes each .tab show the .tabpane whose data-pane is its data-tab. */
export function bindTabs() {
  for (const tab of document.querySelectorAll('.tab')) {
    tab.addEventListener('click', () => {
      for (const other of document.querySelectorAll('.tab')) other.classList.toggle('active', other === tab);
      for (const pane of document.querySelectorAll('.tabpane')) pane.classList.toggle('active', pane.dataset.pane === tab.dataset.tab);
    });
  }
}
