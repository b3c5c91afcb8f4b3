// Live updates for the approval queue: new requests appear and decided ones leave without a reload.
// Plain browser JavaScript, no build step; loaded from /assets/queue.js (the CSP allows only 'self').
(() => {
  const list = () => document.getElementById('pending-list');
  const badge = document.getElementById('pending-count');
  const status = document.getElementById('live-status');

  function setStatus(text, state) {
    if (!status) return;
    status.textContent = text;
    status.dataset.state = state;
  }

  function localizeTimes(root) {
    // data-utc times (the audit log) stay in UTC, matching the UTC filter fields beside them.
    for (const el of root.querySelectorAll('time[datetime]:not([data-utc])')) {
      const date = new Date(el.getAttribute('datetime'));
      if (!Number.isNaN(date.getTime())) {
        el.title = el.getAttribute('datetime');
        el.textContent = date.toLocaleString();
      }
    }
  }

  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll('.countdown[data-expires]')) {
      const left = Math.max(0, Math.round((Number(el.dataset.expires) - now) / 1000));
      const card = el.closest('.approval');
      if (left === 0) {
        el.textContent = 'expired';
        el.classList.add('over');
        if (card) for (const b of card.querySelectorAll('button')) b.disabled = true;
      } else {
        el.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} left`;
        el.classList.toggle('soon', left < 60);
      }
    }
  }

  // Merge rather than replace, so a note being typed into a card that is still pending survives.
  function merge(fresh) {
    const current = list();
    if (!current) return;
    const keep = new Set();
    const arrived = [];
    let previous = null;
    for (const card of fresh.querySelectorAll('article.approval')) {
      keep.add(card.id);
      let node = document.getElementById(card.id);
      if (!node) {
        node = document.importNode(card, true);
        node.classList.add('arrived');
        localizeTimes(node);
        arrived.push(node);
      }
      const anchor = previous ? previous.nextElementSibling : current.firstElementChild;
      if (anchor !== node) current.insertBefore(node, anchor);
      previous = node;
    }
    for (const card of [...current.querySelectorAll('article.approval')]) {
      if (!keep.has(card.id)) card.remove();
    }
    const empty = current.querySelector('.empty');
    const freshEmpty = fresh.querySelector('.empty');
    if (empty) {
      if (freshEmpty) empty.innerHTML = freshEmpty.innerHTML;
      empty.hidden = keep.size > 0;
    }
    current.dataset.count = String(keep.size);
    tick();
    // notify.js turns these into browser notifications, when the reviewer asked for them.
    for (const node of arrived) {
      const detail = {
        id: node.id,
        tool: node.dataset.tool || node.id,
        agent: node.dataset.agent || '',
        reason: node.querySelector('.reason')?.textContent || '',
      };
      document.dispatchEvent(new CustomEvent('portcullis:arrived', { detail }));
    }
  }

  // The tab says how many calls wait ("(3) Pending · Portcullis"), so a reviewer sees it from another tab.
  function setTitle(all) {
    if (!document.getElementById('pending-view')) return;
    const n = Number(all) || 0;
    document.title = n > 0 ? `(${n}) Pending · Portcullis` : 'Pending · Portcullis';
  }

  // The agent summary, the total and the pager hold no input: they are swapped whole.
  function swap(id, fresh) {
    const node = document.getElementById(id);
    const next = fresh.querySelector(`#${id}`);
    if (!node || !next) return;
    const imported = document.importNode(next, true);
    localizeTimes(imported);
    // Unchanged parts stay in place: no flicker, and a reviewer's focus or selection is not lost.
    if (imported.isEqualNode(node)) return;
    node.replaceWith(imported);
  }

  // On the Pending page the fragment is asked for the page the reviewer is on (agent, limit, cursor, as
  // the server wrote them into data-search); elsewhere only the badge is kept current.
  function fragmentUrl() {
    const view = document.getElementById('pending-view');
    return `/fragments/pending${view ? view.dataset.search || '' : ''}`;
  }

  // One request at a time; changes arriving meanwhile ask for one more afterwards, so a flood of
  // events costs a request per round trip, and answers can never land out of order.
  let timer = null;
  let inFlight = false;
  let again = false;
  function refresh() {
    if (inFlight) {
      again = true;
      return;
    }
    if (timer) return;
    timer = setTimeout(load, 50);
  }

  async function load() {
    timer = null;
    inFlight = true;
    try {
      const res = await fetch(fragmentUrl(), { credentials: 'same-origin', cache: 'no-store' });
      if (res.status === 401) {
        setStatus('Signed out: reload to sign in again', 'down');
        return;
      }
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      const view = doc.getElementById('pending-view');
      if (!view) return;
      if (badge) badge.textContent = view.dataset.all || '0';
      setTitle(view.dataset.all);
      const fresh = doc.getElementById('pending-list');
      if (fresh) merge(fresh);
      for (const id of ['agent-summary', 'pending-total', 'pager']) swap(id, doc);
      const mine = document.getElementById('pending-view');
      if (mine) {
        mine.dataset.total = view.dataset.total || '0';
        mine.dataset.all = view.dataset.all || '0';
      }
    } catch {
      setStatus('Reconnecting…', 'down');
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  // On an approval's own page: once it is decided (here, elsewhere, or it expired), show the outcome.
  async function recheckApproval() {
    const mine = document.querySelector('article.approval-page[data-status="pending"]');
    if (!mine) return;
    try {
      const res = await fetch(`/approvals/${mine.id}`, { credentials: 'same-origin', cache: 'no-store' });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      const fresh = doc.getElementById(mine.id);
      if (!fresh || fresh.dataset.status === 'pending') return;
      const imported = document.importNode(fresh, true);
      localizeTimes(imported);
      mine.replaceWith(imported);
    } catch {
      setStatus('Reconnecting…', 'down');
    }
  }

  function connect() {
    const events = new EventSource('/events');
    events.addEventListener('ready', () => {
      setStatus(document.getElementById('pending-view') ? 'Live' : status?.textContent || 'Live', 'up');
      refresh();
    });
    events.addEventListener('changed', () => {
      refresh();
      void recheckApproval();
    });
    events.onerror = () => setStatus('Reconnecting…', 'down');
  }

  // Reveal: one masked value shown in place (the server records who revealed what, never the value).
  // Without this script the form posts normally and the server answers with a page showing it.
  async function reveal(form) {
    const button = form.querySelector('button');
    const out = form.parentElement?.querySelector('.revealed');
    if (!button || !out) return;
    if (out.dataset.shown !== undefined) {
      // Already fetched: toggle locally, no second request (and no second audit record).
      out.hidden = !out.hidden;
      button.textContent = out.hidden ? 'Show' : 'Hide';
      return;
    }
    button.disabled = true;
    try {
      const res = await fetch(form.action, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { accept: 'application/json', 'x-csrf-token': document.body.dataset.csrf || '' },
        body: new URLSearchParams(new FormData(form)),
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) {
        out.textContent = body.error || `Reveal failed (${res.status})`;
        out.classList.add('failed');
        out.hidden = false;
        return;
      }
      out.textContent = typeof body.value === 'string' ? body.value : JSON.stringify(body.value, null, 2);
      out.dataset.shown = '';
      out.hidden = false;
      button.textContent = 'Hide';
    } catch {
      out.textContent = 'Reveal failed: the proxy did not answer';
      out.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains('reveal')) return;
    event.preventDefault();
    void reveal(form);
  });

  // A grant offer's button names the duration chosen, so the reviewer reads what they are granting.
  document.addEventListener('change', (event) => {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.classList.contains('grant-duration')) return;
    const out = select.form?.querySelector('.grant-for');
    if (out) out.textContent = select.selectedOptions[0]?.textContent ?? '';
  });

  localizeTimes(document);
  tick();
  setInterval(tick, 1000);
  connect();
})();
