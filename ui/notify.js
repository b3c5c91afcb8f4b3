// Optional browser notifications of new approvals on the Pending page. Permission is asked only when
// the reviewer clicks the button (never on load); the choice is remembered in localStorage.
(() => {
  const KEY = 'portcullis.notify';
  const button = document.getElementById('notify-toggle');
  const supported = 'Notification' in window;

  const wanted = () => localStorage.getItem(KEY) === 'on';
  const active = () => supported && wanted() && Notification.permission === 'granted';

  function label() {
    if (!button) return;
    if (!supported) {
      button.hidden = true;
      return;
    }
    button.hidden = false;
    if (Notification.permission === 'denied') {
      button.textContent = 'Notifications are blocked in this browser';
      button.disabled = true;
    } else {
      button.textContent = active() ? 'Stop notifying me' : 'Notify me of new approvals';
      button.setAttribute('aria-pressed', String(active()));
    }
  }

  button?.addEventListener('click', async () => {
    if (active()) {
      localStorage.setItem(KEY, 'off');
      label();
      return;
    }
    // Asked here, on the click, and only here: a browser may refuse a prompt nobody asked for.
    const permission = await Notification.requestPermission();
    localStorage.setItem(KEY, permission === 'granted' ? 'on' : 'off');
    label();
  });

  // queue.js tells of each approval that arrived live (not the ones already on the page at load).
  document.addEventListener('portcullis:arrived', (event) => {
    if (!active()) return;
    const { id, tool, agent, reason } = event.detail;
    const note = new Notification(agent ? `${tool} · ${agent}` : tool, { body: reason, tag: id });
    note.addEventListener('click', () => {
      window.focus();
      window.location.assign(`/approvals/${id}`);
      note.close();
    });
  });

  label();
})();
