/* Balcão widget iframe app (/widget/v1/frame.html).
 *
 * Runs on the API's origin, so every call is same-origin: no CORS, and the identification token
 * lives only in this frame's memory (posted by the loader, never in a URL or in storage). It
 * talks only to its parent window, at the exact origin named in its URL, and renders every text
 * as text.
 */
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var HOST = params.get('origin') || '';
  var POLL_MS = 2500;
  var RESYNC_EVERY = 8;

  var TEXT = {
    'pt-BR': {
      open: 'Abrir chat', close: 'Fechar chat', title: 'Converse com o vendedor', message: 'Mensagem',
      send: 'Enviar', messages: 'Mensagens', conversations: 'Conversas', back: 'Conversas',
      waiting: 'Aguardando aprovação', rejected: 'Não enviada: ', you: 'Você', by: 'por ',
      closed: 'Esta conversa foi encerrada. Escreva para reabri-la.',
      signin: 'Entre na sua conta para conversar com o vendedor.', signinLink: 'Entrar',
      refused: 'Não foi possível confirmar sua identificação. Entre novamente na loja.',
      telesales: 'Televendas: você está atendendo como ', empty: 'Nenhuma conversa ainda.',
      start: 'Escreva sua pergunta sobre este produto.', about: 'Sobre: ',
      unread: function (n) { return n + (n === 1 ? ' conversa não lida' : ' conversas não lidas'); },
      retry: function (s) { return 'Muitas mensagens seguidas. Tente de novo em ' + s + ' s.'; },
      failed: 'Não foi possível enviar. Tente de novo.', offline: 'Sem conexão. Tentando de novo…',
      reconnecting: 'Reconectando…',
    },
    en: {
      open: 'Open chat', close: 'Close chat', title: 'Chat with the seller', message: 'Message',
      send: 'Send', messages: 'Messages', conversations: 'Conversations', back: 'Conversations',
      waiting: 'Waiting for review', rejected: 'Not sent: ', you: 'You', by: 'by ',
      closed: 'This conversation was closed. Write to reopen it.',
      signin: 'Sign in to chat with the seller.', signinLink: 'Sign in',
      refused: 'Your identification could not be confirmed. Please sign in again.',
      telesales: 'Telesales: you are acting as ', empty: 'No conversations yet.',
      start: 'Ask your question about this product.', about: 'About: ',
      unread: function (n) { return n + (n === 1 ? ' unread conversation' : ' unread conversations'); },
      retry: function (s) { return 'Too many messages. Try again in ' + s + ' s.'; },
      failed: 'Could not send. Please try again.', offline: 'Offline. Retrying…',
      reconnecting: 'Reconnecting…',
    },
  };
  var t = TEXT[params.get('locale') === 'en' ? 'en' : 'pt-BR'];

  var $ = function (id) { return document.getElementById(id); };
  var ui = {
    app: $('app'), panel: $('panel'), launcher: $('launcher'), badge: $('badge'), title: $('title'),
    back: $('back'), product: $('product'), productImage: $('product-image'),
    productTitle: $('product-title'), notice: $('notice'), signin: $('signin'),
    signinText: $('signin-text'), signinLink: $('signin-link'), list: $('conversations'),
    thread: $('thread'), form: $('composer'), text: $('text'), send: $('send'), live: $('live'),
  };

  var S = {
    settings: {}, inline: false, open: false, started: false,
    ident: null, // {mode:'token', email, token} | {mode:'session', email}
    state: 'pending', // pending | identified | anonymous | refused
    convs: [], current: null, newThread: false,
    msgs: [], cursor: null, polls: 0, unread: -1, timer: null, statuses: {}, sending: false,
    live: 'off', // the socket: off | connecting | live | reconnecting (then we poll)
  };
  var socket = null;

  function tell(msg) {
    msg.balcao = 1;
    if (HOST) window.parent.postMessage(msg, HOST);
  }
  function emit(name, payload) { tell({ type: 'event', name: name, payload: payload }); }

  // ---- the API ----------------------------------------------------------------------------

  function headers(json) {
    var h = {};
    if (json) h['content-type'] = 'application/json';
    if (S.ident && S.ident.mode === 'token') {
      h.authorization = 'Bearer ' + S.ident.token;
      h['x-identification-email'] = S.ident.email;
      if (S.settings.account) h['x-account'] = S.settings.account;
    }
    return h;
  }
  function call(method, path, body) {
    var token = S.ident && S.ident.mode === 'token';
    return fetch(path, {
      method: method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      // A token proves the visitor; only a telesales session rides on cookies.
      credentials: token ? 'omit' : 'same-origin',
      cache: 'no-store',
    }).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { status: r.status, data: data, retry: r.headers.get('retry-after') };
      });
    });
  }
  var BASE = '/v0/customer/conversations';

  // ---- who the visitor is -----------------------------------------------------------------

  function identify() {
    var s = S.settings;
    S.ident = null;
    if (s.identificationEmail && s.identificationToken) {
      S.ident = { mode: 'token', email: String(s.identificationEmail), token: String(s.identificationToken) };
      return loadConversations(true);
    }
    // No token: a telesales session (an operator acting as a customer) may be on this browser.
    return fetch('/api/sessions?items=impersonate.storeUserEmail', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; })
      .then(function (session) {
        var imp = session && session.namespaces && session.namespaces.impersonate;
        var email = imp && imp.storeUserEmail && imp.storeUserEmail.value;
        if (!email) { S.state = 'anonymous'; return; }
        S.ident = { mode: 'session', email: email };
        return loadConversations(true);
      });
  }

  function loadConversations(first) {
    return call('GET', BASE + '?_limit=50').then(function (r) {
      if (r.status === 401 || r.status === 403) {
        S.state = S.ident && S.ident.mode === 'session' ? 'anonymous' : 'refused';
        S.ident = null;
        return;
      }
      if (r.status !== 200 || !r.data) return;
      if (S.state !== 'identified') {
        S.state = 'identified';
        emit('contactAssociated', { message: 'Conversations contact associated with the user' });
      }
      S.convs = r.data.results || [];
      S.convs.forEach(function (c) {
        var before = S.statuses[c.id];
        if (before === 'OPENED' && c.status === 'CLOSED') {
          emit('conversationClosed', { conversation: { conversationId: c.id } });
        }
        S.statuses[c.id] = c.status;
      });
      if (first && !S.current) pickCurrent();
      countUnread();
    });
  }

  function productOf(c) {
    var tag = (c.tags || []).filter(function (x) { return x.name === 'productId'; })[0];
    return tag ? tag.value : null;
  }
  function tagOf(c, name) {
    var tag = (c.tags || []).filter(function (x) { return x.name === name; })[0];
    return tag ? tag.value : '';
  }
  function pageProduct() {
    var p = S.settings.product;
    return p && p.id && S.settings.sellerId ? p : null;
  }

  /* The conversation about this page's product, with its seller. */
  function aboutThisPage(c) {
    var p = pageProduct();
    return !!p && productOf(c) === String(p.id) && !!c.to_user && c.to_user.id === String(S.settings.sellerId);
  }

  function pickCurrent() {
    var p = pageProduct();
    S.current = null;
    S.newThread = false;
    if (p) {
      var match = S.convs.filter(aboutThisPage)[0];
      if (match) S.current = match.id; else S.newThread = true;
    }
    S.msgs = [];
    S.cursor = null;
  }

  function countUnread() {
    var n = S.convs.filter(function (c) { return c.unread_from_count > 0; }).length;
    if (n !== S.unread) {
      S.unread = n;
      emit('unreadConversationCountChanged', { unreadCount: n });
    }
    render();
  }

  // ---- messages ---------------------------------------------------------------------------

  function merge(list) { S.msgs = BalcaoLive.merge(S.msgs, list); }

  function loadMessages() {
    var id = S.current;
    if (!id) return Promise.resolve();
    // From the cursor; now and then from the start, for a message decided out of order.
    var full = !S.cursor || S.polls % RESYNC_EVERY === 0;
    var q = '?_limit=100' + (full ? '' : '&_after=' + encodeURIComponent(S.cursor));
    return call('GET', BASE + '/' + encodeURIComponent(id) + '/messages' + q).then(function (r) {
      if (id !== S.current || r.status !== 200 || !r.data) return;
      merge(r.data.results || []);
      if (r.data.meta) S.cursor = BalcaoLive.later(S.cursor, r.data.meta.cursor);
      // Our own messages still waiting: ask for their decision.
      var waiting = S.msgs.filter(function (m) { return mine(m) && m.moderation.status === 'WAITING_MODERATION'; });
      return Promise.all(waiting.map(function (m) {
        return call('GET', BASE + '/' + encodeURIComponent(id) + '/messages/' + encodeURIComponent(m.id))
          .then(function (one) { if (one.status === 200 && one.data && id === S.current) merge([one.data]); });
      }));
    }).then(function () { render(); markRead(); });
  }

  function mine(m) { return m.from_user && m.from_user.type === 'CUSTOMER'; }

  function markRead() {
    var c = conv(S.current);
    if (!c || !S.open || document.visibilityState === 'hidden' || !(c.unread_from_count > 0)) return;
    c.unread_from_count = 0;
    call('PATCH', BASE + '/' + encodeURIComponent(c.id) + '/read_by').then(function (r) {
      if (r.status === 200 && r.data) replaceConv(r.data);
      countUnread();
    });
  }

  // ---- live updates (widget/v1/live.js); polling only while the socket is down -----------------

  function liveStart() {
    if (socket) socket.stop();
    socket = null;
    if (S.state !== 'identified' || !window.BalcaoLive) return;
    var ident = S.ident;
    socket = BalcaoLive({
      credentials: function () {
        // A telesales session rides on its cookies; a visitor on its token, as subprotocols.
        return ident.mode === 'token' ? BalcaoLive.tokenProtocols(ident.token, ident.email) : ['balcao.v1'];
      },
      onState: function (st) {
        S.live = st;
        if (st === 'live') {
          clearTimeout(S.timer);
          // Catch up with what happened while the socket was down: the list, and the thread
          // from its cursor.
          loadConversations(false);
          if (S.current) socket.resume(S.current, S.cursor);
        } else if (st === 'reconnecting' || st === 'off') {
          if (!S.timer) S.timer = setTimeout(poll, POLL_MS);
        }
        render();
      },
      onFrame: onFrame,
    });
    socket.start();
  }

  function onFrame(f) {
    var c = f.conversation;
    if (!c || !c.id) return;
    var before = S.statuses[c.id];
    replaceConv(c);
    if (before === 'OPENED' && c.status === 'CLOSED') {
      emit('conversationClosed', { conversation: { conversationId: c.id } });
    }
    if (S.newThread && !S.current && aboutThisPage(c)) {
      // Another tab (or device) of this shopper started the conversation about this page.
      S.current = c.id;
      S.newThread = false;
      S.cursor = null;
      socket.resume(c.id, null);
    }
    if (c.id === S.current) {
      if (f.message) merge([f.message]);
      if (f.messages) merge(f.messages);
      S.cursor = BalcaoLive.later(S.cursor, f.cursor);
      if (f.type === 'resume' && f.more && f.next) socket.resume(c.id, f.next);
    }
    countUnread();
    if (f.type === 'message.created' && f.message && !mine(f.message)) markRead();
  }

  function conv(id) { return S.convs.filter(function (c) { return c.id === id; })[0] || null; }
  function replaceConv(c) {
    var found = false;
    S.convs = S.convs.map(function (x) { if (x.id === c.id) { found = true; return c; } return x; });
    if (!found) S.convs.unshift(c);
    S.statuses[c.id] = c.status;
  }

  function send(text) {
    var p = pageProduct();
    var req;
    var opening = S.newThread && !!p;
    if (opening) {
      var tags = [{ name: 'productId', value: String(p.id) }];
      if (p.title) tags.push({ name: 'productTitle', value: String(p.title) });
      if (p.image && /^https:\/\//.test(p.image)) tags.push({ name: 'productImage', value: String(p.image) });
      if (p.url && /^https:\/\//.test(p.url)) tags.push({ name: 'productUrl', value: String(p.url) });
      req = call('POST', BASE, { seller_id: String(S.settings.sellerId), tags: tags, content: text });
    } else if (S.current) {
      req = call('POST', BASE + '/' + encodeURIComponent(S.current) + '/messages', { content: text });
    } else {
      return Promise.resolve(false);
    }
    return req.then(function (r) {
      if (r.status === 429) { notice(t.retry(r.retry || 60)); return false; }
      if (r.status !== 200 && r.status !== 201) {
        notice((r.data && r.data.message) || t.failed);
        return false;
      }
      notice('');
      if (opening) {
        // (Its own frame may have arrived first and made it current already.)
        replaceConv(r.data);
        if (S.current !== r.data.id) S.cursor = null;
        S.current = r.data.id;
        S.newThread = false;
        if (r.status === 201) emit('conversationStarted', { conversation: { conversationId: r.data.id } });
      }
      return loadMessages().then(function () { return true; });
    }, function () { notice(t.offline); return false; });
  }

  // ---- rendering (text only) ----------------------------------------------------------------

  var noticeText = '';
  function notice(text) { noticeText = text; render(); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function renderList() {
    ui.list.replaceChildren();
    if (!S.convs.length) { ui.list.appendChild(el('li', 'meta', t.empty)); return; }
    S.convs.forEach(function (c) {
      var li = el('li');
      var b = el('button');
      b.type = 'button';
      b.appendChild(el('span', '', tagOf(c, 'productTitle') || productOf(c) || c.id));
      var meta = (c.to_user && c.to_user.full_name) || '';
      if (c.status === 'CLOSED') meta += ' · ' + (t === TEXT.en ? 'closed' : 'encerrada');
      if (c.unread_from_count > 0) meta += ' · ' + c.unread_from_count + ' ' + (t === TEXT.en ? 'new' : 'nova(s)');
      b.appendChild(el('span', 'meta', meta));
      b.addEventListener('click', function () { openConversation(c.id); });
      li.appendChild(b);
      ui.list.appendChild(li);
    });
  }

  function renderThread() {
    ui.thread.replaceChildren();
    S.msgs.forEach(function (m) {
      var own = mine(m);
      var status = m.moderation && m.moderation.status;
      var li = el('li', 'msg' + (own ? ' mine' : '') + (status === 'REJECTED' ? ' rejected' : ''));
      li.setAttribute('data-id', m.id);
      var who = own ? t.you : ((m.from_user.owner && m.from_user.owner.name) || m.from_user.full_name);
      if (own && m.from_user.owner && m.from_user.owner.name) who += ' (' + t.by + m.from_user.owner.name + ')';
      li.appendChild(el('span', 'who', who));
      li.appendChild(el('span', 'body', m.content));
      if (own && status === 'WAITING_MODERATION') li.appendChild(el('span', 'state', t.waiting));
      if (own && status === 'REJECTED') {
        var reasons = (m.moderation.block_rules || []).map(function (b) { return b.reason; }).join('; ');
        li.appendChild(el('span', 'state', t.rejected + reasons));
      }
      ui.thread.appendChild(li);
    });
    ui.thread.scrollTop = ui.thread.scrollHeight;
  }

  function render() {
    ui.app.className = S.inline ? 'inline' : '';
    ui.app.setAttribute('data-live', S.live);
    ui.launcher.hidden = S.inline || !S.started;
    ui.launcher.setAttribute('aria-label', S.open ? t.close : t.open);
    ui.launcher.setAttribute('aria-expanded', String(S.open));
    ui.badge.hidden = !(S.unread > 0);
    ui.badge.textContent = S.unread > 0 ? String(S.unread) : '';
    if (S.unread > 0) ui.launcher.title = t.unread(S.unread); else ui.launcher.removeAttribute('title');
    ui.panel.hidden = !S.open;
    if (!S.open) return;
    ui.live.hidden = !(S.state === 'identified' && S.live === 'reconnecting');
    ui.live.textContent = t.reconnecting;
    var c = conv(S.current);
    var p = pageProduct();
    var inThread = S.state === 'identified' && (S.current || S.newThread);
    ui.title.textContent = c ? (tagOf(c, 'productTitle') || t.title) : (S.newThread && p && p.title) || t.title;
    ui.back.hidden = !inThread;
    ui.back.textContent = '← ' + t.back;
    var shown = c ? { title: tagOf(c, 'productTitle'), image: tagOf(c, 'productImage') } : S.newThread && p ? p : null;
    ui.product.hidden = !(inThread && shown && shown.title);
    if (shown && shown.title) {
      ui.productTitle.textContent = t.about + shown.title;
      var img = shown.image && /^https:\/\//.test(shown.image) ? shown.image : '';
      ui.productImage.hidden = !img;
      if (img && ui.productImage.getAttribute('src') !== img) ui.productImage.src = img;
    }
    var notes = [];
    if (S.ident && S.ident.mode === 'session') notes.push(t.telesales + S.ident.email + '.');
    if (c && c.status === 'CLOSED') notes.push(t.closed);
    if (S.newThread && !noticeText) notes.push(t.start);
    if (noticeText) notes.push(noticeText);
    ui.notice.hidden = !notes.length || S.state !== 'identified';
    ui.notice.textContent = notes.join(' ');
    ui.signin.hidden = S.state !== 'anonymous' && S.state !== 'refused';
    ui.signinText.textContent = S.state === 'refused' ? t.refused : t.signin;
    var link = S.settings.signInUrl;
    ui.signinLink.hidden = !(link && /^https?:\/\//.test(link));
    if (!ui.signinLink.hidden) { ui.signinLink.href = link; ui.signinLink.textContent = t.signinLink; }
    ui.list.hidden = S.state !== 'identified' || !!inThread;
    if (!ui.list.hidden) renderList();
    ui.thread.hidden = !inThread;
    if (inThread) renderThread();
    // Only an identified visitor can write.
    ui.form.hidden = !inThread;
    ui.send.disabled = S.sending;
  }

  function openConversation(id) {
    S.current = id;
    S.newThread = false;
    S.msgs = [];
    S.cursor = null;
    S.polls = 0;
    render();
    loadMessages().then(function () { ui.text.focus(); });
  }
  window.addEventListener('pagehide', function () { if (socket) socket.stop(); });

  function setOpen(open, byUser) {
    if (S.open === open) return;
    S.open = open;
    tell({ type: 'state', open: open });
    render();
    if (open) {
      markRead();
      var target = !ui.form.hidden ? ui.text : !ui.signinLink.hidden ? ui.signinLink : ui.launcher;
      if (byUser) target.focus();
    } else if (byUser) {
      ui.launcher.focus();
    }
  }

  // ---- polling ----------------------------------------------------------------------------

  function poll() {
    clearTimeout(S.timer);
    S.timer = null;
    if (S.state !== 'identified' || S.live === 'live' || S.live === 'connecting') return;
    S.polls += 1;
    loadConversations(false).then(loadMessages).catch(function () {}).then(function () {
      S.timer = setTimeout(poll, POLL_MS);
    });
  }

  function start(settings, open, inline, fresh) {
    clearTimeout(S.timer);
    S.timer = null;
    if (socket) socket.stop();
    socket = null;
    S.live = 'off';
    S.settings = settings || {};
    S.inline = !!inline;
    S.state = 'pending';
    S.convs = [];
    S.current = null;
    S.newThread = false;
    S.msgs = [];
    S.cursor = null;
    S.unread = fresh ? -1 : S.unread;
    noticeText = '';
    document.documentElement.lang = S.settings.locale === 'en' ? 'en' : 'pt-BR';
    return identify().catch(function () { S.state = 'anonymous'; }).then(function () {
      S.started = true;
      if (S.state !== 'identified') {
        S.convs = [];
        S.unread = 0;
      }
      render();
      if (open || inline) setOpen(true, false);
      liveStart();
      poll();
    });
  }

  // ---- the page's messages (exact origin, parent only) -----------------------------------------

  window.addEventListener('message', function (ev) {
    if (!HOST || ev.origin !== HOST || ev.source !== window.parent) return;
    var d = ev.data;
    if (!d || d.balcao !== 1) return;
    if (d.type === 'init') {
      start(d.settings, d.open, d.inline, true).then(function () { tell({ type: 'ready' }); });
    } else if (d.type === 'refresh') {
      start(d.settings, S.open || d.openToNewThread, S.inline, false).then(function () {
        if (d.openToNewThread && pageProduct()) { pickCurrent(); render(); loadMessages(); }
      });
    } else if (d.type === 'open') {
      setOpen(true, false);
    } else if (d.type === 'close') {
      if (!S.inline) setOpen(false, false);
    } else if (d.type === 'clear') {
      S.settings.identificationEmail = '';
      S.settings.identificationToken = '';
      start(S.settings, S.open, S.inline, false);
    }
  });

  ui.launcher.addEventListener('click', function () {
    emit('userInteractedWithWidget', { message: 'User interacted with widget' });
    setOpen(!S.open, true);
  });
  ui.back.addEventListener('click', function () {
    S.current = null;
    S.newThread = false;
    S.msgs = [];
    render();
    var first = ui.list.querySelector('button');
    if (first) first.focus();
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && S.open && !S.inline) setOpen(false, true);
  });
  ui.text.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      ui.form.requestSubmit();
    }
  });
  ui.text.addEventListener('focus', function () {
    emit('userInteractedWithWidget', { message: 'User interacted with widget' });
  });
  ui.form.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = ui.text.value.trim();
    if (!text || S.sending) return;
    S.sending = true;
    render();
    send(text).then(function (ok) {
      S.sending = false;
      if (ok) ui.text.value = '';
      render();
      ui.text.focus();
    });
  });
  document.addEventListener('visibilitychange', markRead);

  ui.text.setAttribute('aria-label', t.message);
  ui.text.placeholder = t.message;
  ui.send.textContent = t.send;
  ui.thread.setAttribute('aria-label', t.messages);
  ui.list.setAttribute('aria-label', t.conversations);
  ui.launcher.setAttribute('aria-label', t.open);
  document.documentElement.lang = params.get('locale') === 'en' ? 'en' : 'pt-BR';
  tell({ type: 'hello' });
})();
