/* A store's page script for the browser tests, served by the test host (another origin than the
 * API). Like a store: settings first with loadImmediately false, the token from the store's own
 * backend (/token on the host), then load(). Records the widget's events and any CSP violation. */
(function () {
  'use strict';
  var q = new URLSearchParams(location.search);
  var compat = q.get('compat') === 'hubspot';
  window.__events = [];
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', function (e) {
    window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
  });
  var settings = {
    loadImmediately: false,
    locale: q.get('locale') || 'pt-BR',
    signInUrl: location.origin + '/login',
  };
  if (!compat) settings.account = 'lojademo';
  if (q.get('product')) {
    settings.product = { id: q.get('product'), title: q.get('title') || 'Produto de teste' };
    settings.sellerId = q.get('seller') || 'seller-acme';
  }
  if (q.get('inline')) settings.inlineEmbedSelector = '#chat-here';
  window[compat ? 'hsConversationsSettings' : 'balcaoConversationsSettings'] = settings;

  function token(email) {
    return fetch('/token?email=' + encodeURIComponent(email)).then(function (r) { return r.json(); })
      .then(function (d) { return d.token; });
  }
  function api() { return compat ? window.HubSpotConversations : window.BalcaoConversations; }

  // Sets the next visitor (or none) and rebuilds the widget: a sign-in or sign-out on the store.
  window.__switchShopper = function (email, tokenEmail) {
    delete settings.identificationEmail;
    delete settings.identificationToken;
    var next = email ? token(tokenEmail || email).then(function (t) {
      settings.identificationEmail = email;
      settings.identificationToken = t;
    }) : Promise.resolve();
    return next.then(function () { api().clear({ resetWidget: true }); });
  };

  window[compat ? 'hsConversationsOnReady' : 'balcaoConversationsOnReady'] = [function () {
    ['widgetLoaded', 'widgetClosed', 'conversationStarted', 'conversationClosed',
      'unreadConversationCountChanged', 'contactAssociated', 'userInteractedWithWidget'].forEach(function (name) {
      api().on(name, function (payload) { window.__events.push({ name: name, payload: payload }); });
    });
    var email = q.get('email');
    var ready = email ? token(q.get('token_for') || email).then(function (t) {
      settings.identificationEmail = email;
      settings.identificationToken = t;
    }) : Promise.resolve();
    ready.then(function () { api().widget.load(q.get('open') ? { widgetOpen: true } : undefined); });
  }];
})();
