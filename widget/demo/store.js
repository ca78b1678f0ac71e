/* The demo store's own page script: what a store writes around the Balcão snippet.
 * Settings are set before the loader runs, with loadImmediately: false; once the visitor's token
 * is back from the store's backend (here the stand-in /demo/api/identify), the page loads the
 * widget. Switching shoppers sets the next one's e-mail and token and calls
 * clear({resetWidget: true}). */
(function () {
  'use strict';
  var SHOPPERS = [
    { id: 'guest', label: 'Visitante' },
    { id: 'maria', label: 'Maria', email: 'maria@example.com' },
    { id: 'joao', label: 'João', email: 'joao@example.com' },
    { id: 'ana', label: 'Ana (televendas) atende Maria', operator: 'ana.televendas@lojademo.com.br', customer: 'maria@example.com' },
  ];
  var settings = window.balcaoConversationsSettings = {
    account: 'lojademo',
    loadImmediately: false,
    locale: 'pt-BR',
    product: { id: 'FONE-BT-PRO', title: 'Fone de ouvido Bluetooth ACME Pro', url: 'https://lojademo.com.br/fone-bt-pro' },
    sellerId: 'seller-acme',
    signInUrl: location.origin + '/demo/#entrar',
  };

  function json(method, path, body) {
    return fetch(path, {
      method: method, credentials: 'same-origin',
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (r) { return r.status === 204 ? {} : r.json(); });
  }

  function current() {
    var id = localStorage.getItem('demo.shopper') || 'maria';
    return SHOPPERS.filter(function (s) { return s.id === id; })[0] || SHOPPERS[1];
  }

  // The store's backend: its logged-in visitor's token (or an operator's telesales session).
  function identify(shopper) {
    delete settings.identificationEmail;
    delete settings.identificationToken;
    if (shopper.operator) {
      return json('POST', '/demo/api/operator', { email: shopper.operator }).then(function () {
        return json('POST', '/api/sessions', { public: { 'vtex-impersonated-customer-email': { value: shopper.customer } } });
      });
    }
    // Leaving telesales: stop the impersonation and sign the operator out.
    return json('PATCH', '/api/sessions', { public: { 'vtex-impersonated-customer-email': { value: '' } } })
      .catch(function () {})
      .then(function () { return json('DELETE', '/demo/api/operator'); })
      .then(function () {
        if (!shopper.email) return;
        return json('POST', '/demo/api/identify', { email: shopper.email }).then(function (d) {
          settings.identificationEmail = shopper.email;
          settings.identificationToken = d.token;
        });
      });
  }

  function say(text) { var s = document.getElementById('status'); if (s) s.textContent = text; }

  function renderShoppers() {
    var box = document.getElementById('shoppers');
    box.replaceChildren();
    SHOPPERS.forEach(function (s) {
      var b = document.createElement('button');
      b.type = 'button';
      b.textContent = s.label;
      b.setAttribute('aria-pressed', String(s.id === current().id));
      b.addEventListener('click', function () { switchTo(s); });
      box.appendChild(b);
    });
  }

  function switchTo(shopper) {
    localStorage.setItem('demo.shopper', shopper.id);
    renderShoppers();
    identify(shopper).then(function () {
      window.BalcaoConversations.clear({ resetWidget: true });
      say('Agora você é ' + shopper.label + '.');
    });
  }

  window.balcaoConversationsOnReady = [function () {
    identify(current()).then(function () { window.BalcaoConversations.widget.load(); });
  }];
  document.addEventListener('DOMContentLoaded', renderShoppers);
})();
