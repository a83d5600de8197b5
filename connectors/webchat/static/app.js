// deskbot web chat: plain JavaScript, no build step.
//
// Two views on one page:
//   /                 the asker: ask a question, see the notice or the answer
//   /?agent=ID        an agent: pending suggestions with Approve / Edit / Reject
// Every action goes through the same inbox and workflow as Slack; the page
// polls for what the workflow "posted" here.
'use strict';

(function () {
  const params = new URLSearchParams(window.location.search);
  const $ = (id) => document.getElementById(id);

  function randomId(prefix) {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function el(tag, props, children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children || []) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function setStatus(node, text, isError) {
    node.textContent = text || '';
    node.classList.toggle('error', !!isError);
  }

  // fetch + JSON, retrying network failures and 503 (the server stopping or
  // busy): the same client_id makes a retried POST count once.
  async function api(method, path, body, headers) {
    const options = { method, headers: Object.assign({ Accept: 'application/json' }, headers || {}) };
    if (body !== undefined) {
      options.body = JSON.stringify(body);
      options.headers['Content-Type'] = 'application/json';
    }
    let lastError = null;
    for (let attempt = 0; attempt < 4; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 300 * 2 ** attempt));
      let response;
      try {
        response = await fetch(path, options);
      } catch (e) {
        lastError = new Error('cannot reach deskbot');
        continue;
      }
      let data = null;
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
      if (response.status === 503) {
        lastError = new Error((data && data.error) || 'deskbot is busy');
        continue;
      }
      if (!response.ok) throw new Error((data && data.error) || 'HTTP ' + response.status);
      return data;
    }
    throw lastError;
  }

  // ------------------------------------------------------------------ asker

  function startAsker() {
    $('ask-view').hidden = false;
    const status = $('ask-status');
    let user = localStorage.getItem('deskbot.user');
    if (!user) {
      user = randomId('web-').slice(0, 24);
      localStorage.setItem('deskbot.user', user);
    }
    let conversation = params.get('c') || localStorage.getItem('deskbot.conversation') || '';
    const pending = []; // questions sent but not yet seen in the conversation

    function remember(c) {
      conversation = c;
      localStorage.setItem('deskbot.conversation', c);
      const url = new URL(window.location.href);
      url.searchParams.set('c', c);
      window.history.replaceState(null, '', url);
    }
    if (conversation) remember(conversation);

    function render(data) {
      const items = [];
      for (const q of data.questions) items.push({ at: q.asked_at * 1000, order: 0, kind: 'question', text: q.text, id: 'q' + q.id });
      for (const m of data.messages) items.push({ at: m.created_ms, order: 1, kind: m.kind, text: m.text, id: 'm' + m.id });
      const seen = new Set(data.questions.map((q) => q.text));
      for (const p of pending) {
        if (!seen.has(p.text)) items.push({ at: p.at, order: 0, kind: 'question', text: p.text, id: p.id });
      }
      items.sort((a, b) => a.at - b.at || a.order - b.order);
      const transcript = $('transcript');
      transcript.replaceChildren(...items.map((it) => {
        const who = it.kind === 'question' ? 'You' : it.kind === 'answer' ? 'Help desk' : 'deskbot';
        return el('div', { className: 'msg ' + it.kind, id: 'msg-' + it.id },
                  [el('span', { className: 'who' }, [who]), it.text]);
      }));
    }

    async function poll() {
      if (conversation) {
        try {
          render(await api('GET', '/api/conversations/' + encodeURIComponent(conversation)));
        } catch (e) {
          setStatus(status, e.message, true);
        }
      }
      setTimeout(poll, 1000);
    }

    $('ask-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = $('question').value.trim();
      if (!text) return;
      const button = $('ask-button');
      button.disabled = true;
      setStatus(status, 'Sending...');
      const clientId = randomId('m-');
      pending.push({ text, at: Date.now(), id: clientId });
      try {
        const reply = await api('POST', '/api/questions',
                                { text, user, conversation: conversation || undefined, client_id: clientId });
        remember(reply.conversation);
        $('question').value = '';
        setStatus(status, 'Sent. An agent checks every answer before you see it.');
      } catch (e) {
        setStatus(status, 'Not sent: ' + e.message, true);
        pending.pop();
      } finally {
        button.disabled = false;
      }
    });

    $('new-conversation').addEventListener('click', () => {
      localStorage.removeItem('deskbot.conversation');
      window.location.href = '/';
    });
    poll();
  }

  // ------------------------------------------------------------------ agent

  function startAgent() {
    $('agent-view').hidden = false;
    const status = $('agent-status');
    const cards = new Map(); // suggestion id -> card element
    let agent = params.get('agent') || localStorage.getItem('deskbot.agent') || '';
    let token = sessionStorage.getItem('deskbot.agent_token') || '';
    $('agent-id').value = agent;
    $('agent-token').value = token;
    let polling = false;

    function headers() {
      return token ? { 'X-Deskbot-Agent-Token': token } : {};
    }

    async function decide(id, action, text, reason, card) {
      for (const b of card.querySelectorAll('button')) b.disabled = true;
      card.querySelector('.card-status').textContent = 'Sending ' + action + '...';
      try {
        await api('POST', '/api/suggestions/' + id + '/verdict',
                  { agent, action, text, reason, client_id: randomId('v-') }, headers());
        card.querySelector('.card-status').textContent = 'Sent: ' + action + '. Waiting for deskbot...';
      } catch (e) {
        card.querySelector('.card-status').textContent = 'Not sent: ' + e.message;
        for (const b of card.querySelectorAll('button')) b.disabled = false;
      }
    }

    function card(s) {
      const id = s.id;
      const node = el('article', { className: 'suggestion', id: 'suggestion-' + id });
      node.dataset.id = String(id);
      node.append(el('h3', {}, ['Question from ' + s.question.asker]));
      node.append(el('p', { className: 'question-text' }, [s.question.text]));
      if (s.state === 'abstained' || !s.text) {
        node.append(el('p', { className: 'abstained' },
                       ['No confident answer (' + Math.round(s.confidence * 100) + '%). The asker was told an agent will follow up; write the answer with Edit.']));
      } else {
        node.append(el('div', { className: 'answer-text' }, [s.text]));
        node.append(el('p', { className: 'meta confidence' },
                       ['Confidence ' + Math.round(s.confidence * 100) + '%' + (s.model_version ? ' - model ' + s.model_version : '')]));
      }
      if (s.sources.length) {
        node.append(el('p', { className: 'meta' }, ['Learned from:']));
        node.append(el('ul', { className: 'sources' }, s.sources.map((src) =>
          el('li', {}, [src.source + ' #' + src.ticket + (src.question ? ': ' + src.question : '')]))));
      }
      const actions = el('div', { className: 'actions' });
      const approve = el('button', { type: 'button', className: 'approve' }, ['Approve']);
      approve.disabled = !s.text;
      const edit = el('button', { type: 'button', className: 'edit secondary' }, ['Edit']);
      const reject = el('button', { type: 'button', className: 'reject' }, ['Reject']);
      actions.append(approve, edit, reject);
      node.append(actions);

      const editor = el('div', { className: 'editor', hidden: true });
      const editText = el('textarea', { className: 'edit-text', rows: 4, value: s.text || '' });
      const sendEdit = el('button', { type: 'button', className: 'send-edit' }, ['Send edited answer']);
      editor.append(editText, sendEdit);
      const rejecter = el('div', { className: 'rejecter', hidden: true });
      const reason = el('input', { className: 'reject-reason', placeholder: 'Why is it wrong? (kept for training)' });
      const confirmReject = el('button', { type: 'button', className: 'confirm-reject' }, ['Confirm reject']);
      rejecter.append(reason, confirmReject);
      node.append(editor, rejecter, el('p', { className: 'meta card-status' }));

      approve.addEventListener('click', () => decide(id, 'approve', '', '', node));
      edit.addEventListener('click', () => { editor.hidden = false; rejecter.hidden = true; editText.focus(); });
      reject.addEventListener('click', () => { rejecter.hidden = false; editor.hidden = true; reason.focus(); });
      sendEdit.addEventListener('click', () => {
        if (editText.value.trim()) decide(id, 'edit', editText.value, '', node);
      });
      confirmReject.addEventListener('click', () => decide(id, 'reject', '', reason.value, node));
      return node;
    }

    async function poll() {
      try {
        const data = await api('GET', '/api/suggestions?state=open&agent=' + encodeURIComponent(agent),
                               undefined, headers());
        const list = $('suggestions');
        const ids = new Set();
        for (const s of data.suggestions) {
          ids.add(s.id);
          if (!cards.has(s.id)) {
            const node = card(s);
            cards.set(s.id, node);
            list.prepend(node);
          }
        }
        // Decided ones leave; cards still open keep what the agent typed.
        for (const [id, node] of cards) {
          if (!ids.has(id)) {
            node.remove();
            cards.delete(id);
          }
        }
        setStatus(status, data.suggestions.length ? data.suggestions.length + ' waiting for an agent' : 'Nothing waiting. New questions appear here.');
        const notices = await api('GET', '/api/conversations/' + encodeURIComponent('agent:' + agent), undefined, headers());
        $('agent-notices').replaceChildren(...notices.messages.slice(-3).map((m) =>
          el('p', { className: 'notice-line' }, [m.text])));
      } catch (e) {
        setStatus(status, e.message, true);
      }
      setTimeout(poll, 1500);
    }

    $('agent-form').addEventListener('submit', (event) => {
      event.preventDefault();
      agent = $('agent-id').value.trim();
      token = $('agent-token').value;
      localStorage.setItem('deskbot.agent', agent);
      sessionStorage.setItem('deskbot.agent_token', token);
      if (agent && !polling) {
        polling = true;
        poll();
      }
    });
    if (agent) {
      polling = true;
      poll();
    }
  }

  if (params.has('agent') || params.get('view') === 'agent') startAgent();
  else startAsker();
})();
