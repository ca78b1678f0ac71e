/* Balcão live updates: one WebSocket to the realtime API, shared by the widget's iframe app and
 * the seller inbox (both on the API's origin).
 *
 * BalcaoLive({credentials, onFrame, onState}) opens the socket named by the page's
 * <meta name="balcao-live"> (a path on this origin, or the WebSocket API's wss:// URL), passing
 * the credential as subprotocols (a browser cannot set headers on a WebSocket, and a token in a
 * URL ends up in logs). It reconnects with backoff (0.5 s doubling to 15 s, with jitter) and
 * reports its state: 'connecting', 'live', 'reconnecting' or 'off' (no WebSocket here). Every
 * frame is handed to onFrame; the caller resumes what it shows once the socket is 'live'.
 */
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="balcao-live"]');
  var path = (meta && meta.getAttribute('content')) || '/ws';
  var URL_ = /^wss?:\/\//.test(path) ? path
    : (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path;
  var PING_MS = 60000;
  var MAX_BACKOFF_MS = 15000;

  function b64url(text) {
    var bytes = new TextEncoder().encode(text);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function unb64url(text) {
    try { return atob(text.replace(/-/g, '+').replace(/_/g, '/')); } catch (e) { return ''; }
  }

  function BalcaoLive(opts) {
    var sock = null;
    var state = 'off';
    var attempts = 0;
    var retry = null;
    var ping = null;
    var stopped = true;

    function set(s) {
      if (s === state) return;
      state = s;
      if (opts.onState) opts.onState(s);
    }
    function open() {
      clearTimeout(retry);
      if (stopped) return;
      if (typeof WebSocket === 'undefined') { set('off'); return; }
      set(attempts ? 'reconnecting' : 'connecting');
      var s;
      try { s = new WebSocket(URL_, opts.credentials()); } catch (e) { later(); return; }
      sock = s;
      s.onopen = function () {
        if (sock !== s) return;
        attempts = 0;
        clearInterval(ping);
        ping = setInterval(function () { send({ action: 'ping' }); }, PING_MS);
        set('live');
      };
      s.onmessage = function (ev) {
        if (sock !== s) return;
        var f = null;
        try { f = JSON.parse(ev.data); } catch (e) { return; }
        if (f && typeof f.type === 'string') opts.onFrame(f);
      };
      s.onclose = function () {
        if (sock !== s) return;
        sock = null;
        clearInterval(ping);
        later();
      };
    }
    function later() {
      if (stopped) return;
      attempts += 1;
      set('reconnecting');
      var wait = Math.min(MAX_BACKOFF_MS, 500 * Math.pow(2, attempts - 1));
      retry = setTimeout(open, wait * (0.7 + Math.random() * 0.3));
    }
    function send(obj) {
      if (!sock || sock.readyState !== 1) return false;
      sock.send(JSON.stringify(obj));
      return true;
    }
    return {
      start: function () { stopped = false; attempts = 0; open(); },
      stop: function () {
        stopped = true;
        clearTimeout(retry);
        clearInterval(ping);
        var s = sock;
        sock = null;
        if (s) s.close();
        set('off');
      },
      /* Asks for every message of a conversation the viewer may see after `cursor`. */
      resume: function (conversationId, cursor) {
        return send({ action: 'resume', conversation_id: conversationId, after: cursor || null });
      },
      state: function () { return state; },
      /* Drops the socket as a network failure would (tests, and leaving a sleeping tab). */
      drop: function () { if (sock) sock.close(); },
    };
  }

  /* The subprotocols that carry an identification token and its e-mail, or a seller token. */
  BalcaoLive.tokenProtocols = function (token, email) {
    var p = ['balcao.v1', 'bearer.' + token];
    if (email) p.push('email.' + b64url(email));
    return p;
  };
  /* The later of two messages cursors (opaque to the API's clients, ordered by what they name). */
  BalcaoLive.later = function (a, b) {
    if (!a) return b || null;
    if (!b) return a;
    return unb64url(b) > unb64url(a) ? b : a;
  };
  /* Keeps a decided message decided: frames may arrive out of order. */
  BalcaoLive.newer = function (old, next) {
    var waiting = function (m) { return m.moderation && m.moderation.status === 'WAITING_MODERATION'; };
    return old && !waiting(old) && waiting(next) ? old : next;
  };
  /* `list` merged into `msgs` by message id (a message seen twice is shown once, decided wins),
   * in id order, which is the order they were written in. */
  BalcaoLive.merge = function (msgs, list) {
    var out = msgs.slice();
    list.forEach(function (m) {
      var at = -1;
      for (var i = 0; i < out.length; i++) if (out[i].id === m.id) { at = i; break; }
      if (at >= 0) out[at] = BalcaoLive.newer(out[at], m); else out.push(m);
    });
    out.sort(function (a, b) { return a.id < b.id ? -1 : a.id > b.id ? 1 : 0; });
    return out;
  };
  window.BalcaoLive = BalcaoLive;
})();
