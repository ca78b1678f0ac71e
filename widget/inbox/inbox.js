/* Balcão seller inbox (/inbox/). Uses only the public seller API (/v0/conversations,
 * /v0/webhooks) with the seller token the seller signs in with; the token stays in this tab's
 * sessionStorage. Every text is rendered as text. */
(function () {
  'use strict';
  var KEY = 'balcao.inbox.token';
  var OWNER = 'balcao.inbox.owner';
  var POLL_MS = 3000;
  var $ = function (id) { return document.getElementById(id); };
  var S = { token: sessionStorage.getItem(KEY), convs: [], next: null, current: null, msgs: [], timer: null,
    cursor: null, live: 'off' };
  var socket = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function call(method, path, body) {
    var h = { authorization: 'Bearer ' + S.token };
    if (body !== undefined) h['content-type'] = 'application/json';
    return fetch(path, {
      method: method, headers: h, credentials: 'omit', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (r.status === 401) signOut('Sessão expirada ou token inválido. Entre de novo.');
        return { status: r.status, data: data };
      });
    });
  }

  function claims(token) {
    try {
      var part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(decodeURIComponent(escape(atob(part))));
    } catch (e) { return {}; }
  }

  // ---- sign in / out ------------------------------------------------------------------------

  function signIn(token) {
    S.token = token.trim();
    return call('GET', '/v0/conversations?_limit=1').then(function (r) {
      if (r.status !== 200) {
        S.token = null;
        showError($('signin-error'), (r.data && r.data.message) || 'Token recusado.');
        return;
      }
      sessionStorage.setItem(KEY, S.token);
      start();
    });
  }

  function signOut(why) {
    clearTimeout(S.timer);
    if (socket) socket.stop();
    socket = null;
    S.token = null;
    S.current = null;
    sessionStorage.removeItem(KEY);
    $('workspace').hidden = true;
    $('signout').hidden = true;
    $('who').textContent = '';
    $('signin').hidden = false;
    if (why) showError($('signin-error'), why);
    offerDemoSellers();
  }

  function showError(node, text) {
    node.textContent = text || '';
    node.hidden = !text;
  }

  function offerDemoSellers() {
    fetch('/demo/api/sellers', { cache: 'no-store' }).then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; })
      .then(function (d) {
        if (!d || !d.sellers || !d.sellers.length) return;
        var list = $('demo-list');
        list.replaceChildren();
        d.sellers.forEach(function (s) {
          var li = el('li');
          var b = el('button', 'secondary', 'Entrar como ' + s.name + ' (' + s.id + ')');
          b.type = 'button';
          b.addEventListener('click', function () { signIn(s.token); });
          li.appendChild(b);
          list.appendChild(li);
        });
        $('demo-sellers').hidden = false;
      });
  }

  // ---- conversations ------------------------------------------------------------------------

  function tag(c, name) {
    var t = (c.tags || []).filter(function (x) { return x.name === name; })[0];
    return t ? t.value : '';
  }

  function operatorOf(c) {
    var m = c.last_message;
    return m && m.from_user && m.from_user.type === 'CUSTOMER' && m.from_user.owner ? m.from_user.owner.name : '';
  }

  function badges(c, operator) {
    var span = el('span', 'badges');
    if (c.unread_to_count > 0) span.appendChild(el('span', 'badge unread', c.unread_to_count + ' não lida(s)'));
    if (c.is_new_to) span.appendChild(el('span', 'badge', 'nova'));
    span.appendChild(el('span', 'badge' + (c.status === 'CLOSED' ? ' closed' : ''), c.status === 'CLOSED' ? 'Encerrada' : 'Aberta'));
    if (c.identified_via === 'IMPERSONATION') {
      span.appendChild(el('span', 'badge telesales', 'Televendas' + (operator ? ': ' + operator : '')));
    } else if (c.identified_via === 'VISITOR_IDENTIFICATION') {
      span.appendChild(el('span', 'badge identified', 'Identificado'));
    }
    return span;
  }

  function loadList(more) {
    var path = more && S.next ? S.next : '/v0/conversations?_limit=20';
    return call('GET', path).then(function (r) {
      if (r.status !== 200 || !r.data) return;
      var page = r.data.results || [];
      var next = r.data.meta && r.data.meta.links && r.data.meta.links.next;
      var ids = {};
      if (more) {
        S.convs.forEach(function (c) { ids[c.id] = true; });
        S.convs = S.convs.concat(page.filter(function (c) { return !ids[c.id]; }));
        S.next = next;
      } else {
        // The first page again, keeping what "more" had loaded beyond it.
        page.forEach(function (c) { ids[c.id] = true; });
        var beyond = S.convs.slice(page.length).filter(function (c) { return !ids[c.id]; });
        S.convs = page.concat(beyond);
        if (!beyond.length) S.next = next;
      }
      renderList();
    });
  }

  function renderList() {
    var ul = $('conversations');
    ul.replaceChildren();
    if (!S.convs.length) ul.appendChild(el('li', 'meta', 'Nenhuma conversa ainda.'));
    S.convs.forEach(function (c) {
      var li = el('li');
      var b = el('button');
      b.type = 'button';
      b.setAttribute('aria-current', String(c.id === S.current));
      b.appendChild(el('span', 'name', c.from_user.full_name));
      b.appendChild(el('span', 'meta', tag(c, 'productTitle') || tag(c, 'productId')));
      if (c.last_message) b.appendChild(el('span', 'meta', c.last_message.content));
      b.appendChild(badges(c, operatorOf(c)));
      b.addEventListener('click', function () { openConversation(c.id); });
      li.appendChild(b);
      ul.appendChild(li);
    });
    $('more').hidden = !S.next;
  }

  function current() { return S.convs.filter(function (c) { return c.id === S.current; })[0] || null; }

  function replaceConv(c) {
    S.convs = S.convs.map(function (x) { return x.id === c.id ? c : x; });
  }

  function merge(list) { S.msgs = BalcaoLive.merge(S.msgs, list); }

  // ---- live updates (widget/v1/live.js); polling only while the socket is down -----------------

  function liveStart() {
    if (socket) socket.stop();
    var token = S.token;
    socket = BalcaoLive({
      credentials: function () { return BalcaoLive.tokenProtocols(token); },
      onState: function (st) {
        S.live = st;
        $('live').hidden = st !== 'reconnecting';
        $('workspace').setAttribute('data-live', st);
        if (st === 'live') {
          clearTimeout(S.timer);
          S.timer = null;
          loadList(false);
          if (S.current) socket.resume(S.current, S.cursor);
        } else if (st === 'reconnecting' || st === 'off') {
          if (!S.timer) S.timer = setTimeout(poll, POLL_MS);
        }
      },
      onFrame: function (f) {
        var c = f.conversation;
        if (!c || !c.id) return;
        replaceConv(c);
        if (!S.convs.some(function (x) { return x.id === c.id; })) S.convs.unshift(c);
        // Newest interaction first, as the list is read.
        S.convs.sort(function (a, b) { return (b.last_interaction_at || '') < (a.last_interaction_at || '') ? -1 : 1; });
        if (c.id === S.current) {
          if (f.message) merge([f.message]);
          if (f.messages) merge(f.messages);
          S.cursor = BalcaoLive.later(S.cursor, f.cursor);
          if (f.type === 'resume' && f.more && f.next) socket.resume(c.id, f.next);
          renderDetail();
        }
        renderList();
      },
    });
    socket.start();
  }

  function openConversation(id) {
    S.current = id;
    S.msgs = [];
    S.cursor = null;
    renderList();
    renderDetail();
    loadMessages().then(function () { $('text').focus(); });
  }

  function loadMessages() {
    var id = S.current;
    if (!id) return Promise.resolve();
    return call('GET', '/v0/conversations/' + encodeURIComponent(id) + '/messages?_limit=100').then(function (r) {
      if (id !== S.current || r.status !== 200 || !r.data) return;
      merge(r.data.results || []);
      if (r.data.meta) S.cursor = BalcaoLive.later(S.cursor, r.data.meta.cursor);
      renderDetail();
    });
  }

  function renderDetail() {
    var c = current();
    $('actions').hidden = !c;
    $('thread').hidden = !c;
    $('reply').hidden = !c;
    if (!c) { $('detail-title').textContent = 'Selecione uma conversa'; $('detail-meta').replaceChildren(); return; }
    $('detail-title').textContent = c.from_user.full_name + ' · ' + (tag(c, 'productTitle') || tag(c, 'productId'));
    var operator = '';
    S.msgs.forEach(function (m) { if (m.from_user.type === 'CUSTOMER' && m.from_user.owner) operator = m.from_user.owner.name; });
    var meta = $('detail-meta');
    meta.replaceChildren(badges(c, operator || operatorOf(c)));
    $('toggle-status').textContent = c.status === 'CLOSED' ? 'Reabrir conversa' : 'Encerrar conversa';
    var ol = $('thread');
    ol.replaceChildren();
    S.msgs.forEach(function (m) {
      var seller = m.from_user.type === 'SELLER';
      var li = el('li', 'msg' + (seller ? ' mine' : ''));
      var who = seller ? (m.from_user.owner && m.from_user.owner.name) || m.from_user.full_name : m.from_user.full_name;
      if (!seller && m.from_user.owner) who += ' (Televendas: ' + m.from_user.owner.name + ')';
      if (seller && m.moderation.status !== 'APPROVED') {
        who += m.moderation.status === 'REJECTED' ? ' · recusada pela moderação: ' +
          (m.moderation.block_rules || []).map(function (b) { return b.reason; }).join('; ') : ' · aguardando moderação';
      }
      li.appendChild(el('span', 'who', who));
      li.appendChild(el('span', 'body', m.content));
      ol.appendChild(li);
    });
    ol.scrollTop = ol.scrollHeight;
  }

  function status(text) { $('detail-status').textContent = text; }

  // ---- webhooks ----------------------------------------------------------------------------

  function loadWebhooks() {
    return call('GET', '/v0/webhooks').then(function (r) {
      if (r.status !== 200 || !r.data) return;
      var ul = $('subscriptions');
      ul.replaceChildren();
      (r.data.results || []).forEach(function (w) {
        var li = el('li');
        li.appendChild(el('span', '', w.url + ' · ' + w.status));
        var b = el('button', '', 'Remover');
        b.type = 'button';
        b.setAttribute('aria-label', 'Remover ' + w.url);
        b.addEventListener('click', function () {
          call('DELETE', '/v0/webhooks/' + encodeURIComponent(w.id)).then(loadWebhooks);
        });
        li.appendChild(b);
        ul.appendChild(li);
      });
      if (!(r.data.results || []).length) ul.appendChild(el('li', 'meta', 'Nenhuma assinatura.'));
    });
  }

  // ---- start -------------------------------------------------------------------------------

  function poll() {
    clearTimeout(S.timer);
    S.timer = null;
    if (!S.token || S.live === 'live' || S.live === 'connecting') return;
    loadList(false).then(loadMessages).catch(function () {}).then(function () {
      if (S.token) S.timer = setTimeout(poll, POLL_MS);
    });
  }

  function start() {
    var c = claims(S.token);
    $('signin').hidden = true;
    showError($('signin-error'), '');
    $('workspace').hidden = false;
    $('signout').hidden = false;
    $('who').textContent = (c.name || c.seller_id || '') + (c.account ? ' · ' + c.account : '');
    $('owner').value = localStorage.getItem(OWNER) || '';
    loadWebhooks();
    liveStart();
    poll();
  }

  $('token-form').addEventListener('submit', function (e) { e.preventDefault(); signIn($('token').value); });
  $('signout').addEventListener('click', function () { signOut(''); });
  $('more').addEventListener('click', function () { loadList(true); });
  $('mark-read').addEventListener('click', function () {
    call('PATCH', '/v0/conversations/' + encodeURIComponent(S.current) + '/read_by').then(function (r) {
      if (r.status === 200) { replaceConv(r.data); renderList(); renderDetail(); status('Marcada como lida.'); }
    });
  });
  $('toggle-status').addEventListener('click', function () {
    var c = current();
    var next = c.status === 'CLOSED' ? 'OPENED' : 'CLOSED';
    call('PATCH', '/v0/conversations/' + encodeURIComponent(c.id), { status: next }).then(function (r) {
      if (r.status === 200) {
        replaceConv(r.data);
        renderList();
        renderDetail();
        status(next === 'CLOSED' ? 'Conversa encerrada.' : 'Conversa reaberta.');
      } else status((r.data && r.data.message) || 'Não foi possível mudar o status.');
    });
  });
  $('reply').addEventListener('submit', function (e) {
    e.preventDefault();
    var text = $('text').value.trim();
    var owner = $('owner').value.trim();
    if (!text || !owner) return;
    localStorage.setItem(OWNER, owner);
    var id = S.current;
    $('send').disabled = true;
    call('POST', '/v0/conversations/' + encodeURIComponent(id) + '/messages', {
      content: text, owner: { name: owner, external_id: owner.toLowerCase().replace(/[^a-z0-9]+/g, '-') },
    }).then(function (r) {
      $('send').disabled = false;
      if (r.status === 201) { $('text').value = ''; status('Enviada; aparece ao cliente quando aprovada.'); loadMessages(); }
      else status((r.data && r.data.message) || 'Não foi possível enviar.');
      $('text').focus();
    });
  });
  $('text').addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('reply').requestSubmit(); }
  });
  $('webhook-form').addEventListener('submit', function (e) {
    e.preventDefault();
    call('POST', '/v0/webhooks', { url: $('webhook-url').value.trim() }).then(function (r) {
      if (r.status === 201) {
        showError($('webhook-error'), '');
        $('secret-value').textContent = r.data.secret;
        $('secret').hidden = false;
        $('webhook-url').value = '';
        loadWebhooks();
      } else {
        $('secret').hidden = true;
        showError($('webhook-error'), (r.data && r.data.message) || 'Não foi possível assinar.');
      }
    });
  });

  if (S.token) start(); else offerDemoSellers();
})();
