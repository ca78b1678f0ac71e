/*! Balcão chat widget loader, served by the Balcão API at /widget/v1/balcao.js
 *
 * Reads window.balcaoConversationsSettings (or, with data-compat="hubspot" on the script tag,
 * window.hsConversationsSettings), runs window.balcaoConversationsOnReady, and exposes
 * window.BalcaoConversations.widget. The chat itself runs in an iframe served from the API's
 * origin; this file only places it and talks to it with postMessage, to that exact origin. It
 * writes no inline script or style (CSSOM only), so it runs under a strict CSP.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src) return;
  var compat = script.getAttribute('data-compat') === 'hubspot';
  var API = new URL(script.src).origin;
  var FRAME_URL = API + '/widget/v1/frame.html';
  var EVENTS = ['widgetLoaded', 'widgetClosed', 'conversationStarted', 'conversationClosed',
    'unreadConversationCountChanged', 'contactAssociated', 'userInteractedWithWidget'];
  var SIZES = { closed: ['96px', '96px'], open: ['400px', '640px'] };
  if (window.BalcaoConversations && window.BalcaoConversations.widget) return;

  var handlers = {};
  var frame = null;
  var loaded = false;
  var isOpen = false;
  var lastCall = { load: 0, refresh: 0 };

  function warn(m) { if (window.console) console.warn('[balcao] ' + m); }

  function settings() {
    var s = window.balcaoConversationsSettings || (compat && window.hsConversationsSettings) || {};
    var out = {};
    for (var k in s) if (Object.prototype.hasOwnProperty.call(s, k)) out[k] = s[k];
    if (!out.account) out.account = script.getAttribute('data-account') || '';
    // Only data crosses to the iframe: drop functions and DOM nodes.
    return JSON.parse(JSON.stringify(out));
  }

  function emit(name, payload) {
    var list = (handlers[name] || []).slice();
    for (var i = 0; i < list.length; i++) {
      try { list[i](payload); } catch (e) { warn(name + ' handler failed: ' + e); }
    }
  }

  function post(msg) {
    if (frame && frame.contentWindow) {
      msg.balcao = 1;
      frame.contentWindow.postMessage(msg, API);
    }
  }

  function size(open) {
    if (!frame || frame.balcaoInline) return;
    var wh = SIZES[open ? 'open' : 'closed'];
    frame.style.width = 'min(' + wh[0] + ', 100vw)';
    frame.style.height = 'min(' + wh[1] + ', 100vh)';
  }

  function onMessage(ev) {
    if (!frame || ev.origin !== API || ev.source !== frame.contentWindow) return;
    var d = ev.data;
    if (!d || d.balcao !== 1 || typeof d.type !== 'string') return;
    if (d.type === 'hello') {
      post({ type: 'init', settings: settings(), open: isOpen, inline: !!frame.balcaoInline });
    } else if (d.type === 'ready') {
      loaded = true;
      if (window.performance && performance.mark) performance.mark('balcao:interactive');
      emit('widgetLoaded', { message: 'Widget has loaded' });
    } else if (d.type === 'state') {
      var wasOpen = isOpen;
      isOpen = !!d.open;
      size(isOpen);
      if (wasOpen && !isOpen) emit('widgetClosed', { message: 'Widget was closed' });
    } else if (d.type === 'event' && EVENTS.indexOf(d.name) >= 0 && d.name !== 'widgetLoaded' &&
      d.name !== 'widgetClosed') {
      emit(d.name, d.payload || {});
    }
  }

  function limited(kind) {
    var now = Date.now();
    if (now - lastCall[kind] < 1000) {
      warn(kind + '() is limited to one call a second; ignored');
      return true;
    }
    lastCall[kind] = now;
    return false;
  }

  function build(opts) {
    var s = settings();
    var f = document.createElement('iframe');
    var host = s.inlineEmbedSelector ? document.querySelector(s.inlineEmbedSelector) : null;
    if (s.inlineEmbedSelector && !host) warn('inlineEmbedSelector ' + s.inlineEmbedSelector + ' matches nothing');
    // No token, e-mail or setting in the URL: they are posted once the frame says hello.
    f.src = FRAME_URL + '?origin=' + encodeURIComponent(location.origin) +
      '&locale=' + encodeURIComponent(s.locale === 'en' ? 'en' : 'pt-BR');
    f.title = 'Chat';
    f.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms allow-popups ' +
      'allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation');
    f.setAttribute('referrerpolicy', 'origin');
    f.setAttribute('allow', '');
    f.id = 'balcao-conversations-frame';
    f.style.border = '0';
    f.style.colorScheme = 'normal';
    f.style.background = 'transparent';
    if (host) {
      f.balcaoInline = true;
      f.style.width = '100%';
      f.style.height = '100%';
      f.style.minHeight = '420px';
      f.style.display = 'block';
      isOpen = true;
      host.appendChild(f);
    } else {
      f.style.position = 'fixed';
      f.style.right = '0';
      f.style.bottom = '0';
      f.style.zIndex = '2147483000';
      isOpen = !!(opts && opts.widgetOpen);
      frame = f;
      size(isOpen);
      document.body.appendChild(f);
    }
    frame = f;
  }

  var widget = {
    load: function (opts) {
      if (limited('load')) return;
      if (frame) { warn('the widget is already loaded; use refresh()'); return; }
      if (window.performance && performance.mark) performance.mark('balcao:load');
      if (document.body) build(opts);
      else document.addEventListener('DOMContentLoaded', function () { build(opts); });
    },
    refresh: function (opts) {
      if (limited('refresh')) return;
      if (!frame) { warn('refresh() before load()'); return; }
      post({ type: 'refresh', settings: settings(), openToNewThread: !!(opts && opts.openToNewThread) });
    },
    open: function () { if (frame) { isOpen = true; size(true); post({ type: 'open' }); } },
    close: function () { if (frame) post({ type: 'close' }); },
    remove: function () {
      if (frame && frame.parentNode) frame.parentNode.removeChild(frame);
      frame = null;
      loaded = false;
      isOpen = false;
    },
    status: function () { return { loaded: loaded }; },
  };

  var api = {
    widget: widget,
    // Forgets the visitor: the widget drops its identification and shows the signed-out state
    // until refresh(); with resetWidget it is rebuilt at once from the page's current settings
    // (set the next visitor's e-mail and token first, or remove them on sign-out).
    clear: function (opts) {
      post({ type: 'clear' });
      if (opts && opts.resetWidget) {
        var was = !!frame;
        widget.remove();
        lastCall.load = 0;
        if (was) widget.load();
      }
    },
    on: function (name, fn) {
      if (typeof fn !== 'function') return;
      (handlers[name] = handlers[name] || []).push(fn);
    },
    off: function (name, fn) {
      var list = handlers[name] || [];
      var i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    },
  };

  window.addEventListener('message', onMessage);
  window.BalcaoConversations = api;
  if (compat) window.HubSpotConversations = api;

  function runReady(name) {
    var queue = window[name];
    var run = function (fn) { try { fn(); } catch (e) { warn(name + ' callback failed: ' + e); } };
    if (queue && queue.length) for (var i = 0; i < queue.length; i++) run(queue[i]);
    // Callbacks pushed from now on run at once.
    window[name] = { push: run };
  }
  runReady('balcaoConversationsOnReady');
  if (compat) runReady('hsConversationsOnReady');

  var initial = settings();
  if (initial.loadImmediately !== false) widget.load();
})();
