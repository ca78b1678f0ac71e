#!/usr/bin/env python3
"""The widget, the inbox and the demo store in a real browser (run by scripts/test).

Starts the local stack (target/debug/balcao-local, embedded store) on a free port and a store's
test host on another port, so the host pages run on another origin than the API, as a store's
would; the host serves its pages under a strict CSP (script-src 'self' <api origin>, no inline
script or style) and has its own small backend (/token) that asks the API for identification
tokens with the demo private app token. Debian's Chromium is driven by Playwright
(executable /usr/bin/chromium). Covers the seed's "verify the integration" steps and the widget's
security rules; runs axe-core on the widget and the inbox; writes screenshots to target/browser/.

Prints one line per test and a closing `browser: N passed, M failed`; exits 1 on any failure.
"""

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request

from playwright.sync_api import expect, sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
SHOTS = os.path.join(ROOT, "target", "browser")
AXE = os.environ.get("BALCAO_AXE", os.path.join(HERE, "node_modules", "axe-core", "axe.min.js"))
PAT = "pat-demo-lojademo-0000000000000000000000000001"
MARIA, JOAO = "maria@example.com", "joao@example.com"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS = "<img src=x onerror=alert(1)>"
WAIT = 15_000  # ms: moderation and polling on the local stack take a few seconds at most


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


API_PORT, HOST_PORT = free_port(), free_port()
API = f"http://127.0.0.1:{API_PORT}"
HOST = f"http://127.0.0.1:{HOST_PORT}"


class Relay:
    """A TCP relay in front of the API that a test cuts as a failing network would: open
    connections (HTTP keep-alive and WebSockets alike) are reset and new ones refused until it is
    restored. A page that loads the widget from RELAY's origin reaches the API only through it."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.down = False
        self.open = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            if self.down:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.down = True
        with self.lock:
            conns, self.open = self.open, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def restore(self):
        self.down = False


RELAY = Relay(API_PORT)
VIA_RELAY = f"http://127.0.0.1:{RELAY.port}"


def api(method, path, body=None, token=None, headers=None):
    h = dict(headers or {})
    if token:
        h["authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["content-type"] = "application/json"
    req = urllib.request.Request(API + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return e.code, (json.loads(text) if text else None)


def seller_token(seller="seller-acme"):
    _, d = api("GET", "/demo/api/sellers")
    return next(s["token"] for s in d["sellers"] if s["id"] == seller)


def seller_conversations(token):
    status, d = api("GET", "/v0/conversations?_limit=100", token=token)
    assert status == 200, d
    return d["results"]


def product_of(conv):
    return next((t["value"] for t in conv["tags"] if t["name"] == "productId"), None)


class Host(http.server.BaseHTTPRequestHandler):
    """The store: its pages (strict CSP), its page script, and its backend's /token."""

    def log_message(self, *args):
        pass

    def send(self, status, body, kind, csp=True):
        data = body.encode()
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(data)))
        if csp:
            self.send_header("content-security-policy",
                             f"default-src 'none'; script-src 'self' {API} {VIA_RELAY}; "
                             f"frame-src {API} {VIA_RELAY}; "
                             "connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/page":
            compat = q.get("compat") == "hubspot"
            origin = VIA_RELAY if q.get("via") == "relay" else API
            tag = (f'<script src="{origin}/widget/v1/balcao.js" data-compat="hubspot" '
                   f'data-account="lojademo" async></script>' if compat
                   else f'<script src="{origin}/widget/v1/balcao.js" async></script>')
            html = ("<!doctype html><html lang=\"pt-BR\"><head><meta charset=\"utf-8\">"
                    "<title>Loja de teste</title><script src=\"/host.js\"></script>" + tag +
                    "</head><body><main><h1>Produto de teste</h1><p>Uma página de loja.</p>"
                    "<div id=\"chat-here\"></div></main></body></html>")
            self.send(200, html, "text/html; charset=utf-8")
        elif url.path == "/host.js":
            with open(os.path.join(HERE, "host.js")) as f:
                self.send(200, f.read(), "text/javascript")
        elif url.path == "/token":
            # The store's backend: it vouches for its logged-in visitor with its app token.
            status, d = api("POST", "/conversations/v3/visitor-identification/tokens/create",
                            {"email": q.get("email", "")}, token=PAT)
            self.send(status, json.dumps(d), "application/json", csp=False)
        elif url.path == "/login":
            self.send(200, "<!doctype html><title>Entrar</title><h1>Entrar</h1>", "text/html")
        else:
            self.send(404, "not found", "text/plain")


def page_url(**params):
    return HOST + "/page?" + urllib.parse.urlencode(params)


# ---- the tests ----------------------------------------------------------------------------------

def frame(page):
    return page.frame_locator("#balcao-conversations-frame")


def events(page, name=None):
    evs = page.evaluate("window.__events")
    return [e for e in evs if name is None or e["name"] == name]


def wait_event(page, name, pred=lambda p: True, timeout=WAIT):
    deadline = time.time() + timeout / 1000
    while time.time() < deadline:
        for e in events(page, name):
            if pred(e["payload"]):
                return e["payload"]
        page.wait_for_timeout(100)
    raise AssertionError(f"no {name} event matching; got {events(page)}")


def open_widget(page, name="Abrir chat"):
    launcher = frame(page).get_by_role("button", name=name)
    expect(launcher).to_be_visible(timeout=WAIT)
    launcher.click()


def send(page, text, box="Mensagem", button="Enviar"):
    frame(page).get_by_role("textbox", name=box).fill(text)
    frame(page).get_by_role("button", name=button).click()


def thread(page, name="Mensagens"):
    return frame(page).get_by_role("list", name=name)


def no_csp_violations(page):
    assert page.evaluate("window.__csp") == [], page.evaluate("window.__csp")


def test_unknown_visitor_cannot_post(ctx):
    page = ctx.new_page()
    page.goto(page_url(product="TEST-ANON"))
    open_widget(page)
    expect(frame(page).get_by_text("Entre na sua conta para conversar")).to_be_visible()
    link = frame(page).get_by_role("link", name="Entrar")
    expect(link).to_have_attribute("href", HOST + "/login")
    expect(frame(page).get_by_role("textbox", name="Mensagem")).to_have_count(0)
    expect(frame(page).get_by_role("button", name="Enviar")).to_have_count(0)
    assert not events(page, "contactAssociated")
    no_csp_violations(page)


def test_identified_shopper_starts_a_conversation_seen_in_the_inbox(ctx):
    page = ctx.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_url(email=MARIA, product="TEST-TV", title="TV de teste"))
    wait_event(page, "widgetLoaded")
    assert page.evaluate("BalcaoConversations.widget.status()") == {"loaded": True}
    wait_event(page, "contactAssociated")
    open_widget(page)
    expect(frame(page).get_by_text("Sobre: TV de teste")).to_be_visible()
    send(page, "Essa TV tem HDMI 2.1?")
    started = wait_event(page, "conversationStarted")
    conv_id = started["conversation"]["conversationId"]
    assert re.fullmatch(r"[0-9A-Z]{26}", conv_id), started
    expect(thread(page)).to_contain_text("Essa TV tem HDMI 2.1?")
    expect(frame(page).get_by_text("Aguardando aprovação")).to_have_count(0, timeout=WAIT)
    # The token never travels in a URL (the frame's, or any request's).
    token = page.evaluate("balcaoConversationsSettings.identificationToken")
    assert token and not any(token in u for u in requests), requests
    src = page.locator("#balcao-conversations-frame").get_attribute("src")
    assert src.startswith(API + "/widget/v1/frame.html?origin=") and MARIA not in src, src
    no_csp_violations(page)
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, "widget.png"))
    # The seller sees it in the inbox with the identified badge.
    inbox = ctx.new_page()
    inbox.goto(API + "/inbox/")
    inbox.get_by_role("button", name="Entrar como ACME Eletro (seller-acme)").click()
    item = inbox.get_by_role("list", name="Conversas").get_by_role("button").filter(has_text="TV de teste")
    expect(item).to_contain_text("Maria Souza", timeout=WAIT)
    expect(item).to_contain_text("Identificado")
    expect(item).to_contain_text("1 não lida(s)")
    item.click()
    expect(inbox.get_by_role("list", name="Mensagens")).to_contain_text("Essa TV tem HDMI 2.1?")
    inbox.screenshot(path=os.path.join(SHOTS, "inbox.png"), full_page=True)
    conv = next(c for c in seller_conversations(seller_token()) if c["id"] == conv_id)
    assert conv["identified_via"] == "VISITOR_IDENTIFICATION" and product_of(conv) == "TEST-TV"


def test_second_shopper_after_clear_gets_their_own_conversation(ctx):
    page = ctx.new_page()
    page.goto(page_url(email=MARIA, product="TEST-SOFA", title="Sofá de teste", seller="seller-bravo"))
    open_widget(page)
    send(page, "O sofá vem montado?")
    maria_conv = wait_event(page, "conversationStarted")["conversation"]["conversationId"]
    page.evaluate("window.__events = []")
    page.evaluate(f"window.__switchShopper({json.dumps(JOAO)})")
    wait_event(page, "widgetLoaded")
    wait_event(page, "contactAssociated")
    open_widget(page)
    # A fresh thread: João does not see Maria's message.
    expect(frame(page).get_by_text("Escreva sua pergunta sobre este produto.")).to_be_visible()
    expect(thread(page)).not_to_contain_text("O sofá vem montado?")
    send(page, "Qual a cor do sofá?")
    joao_conv = wait_event(page, "conversationStarted")["conversation"]["conversationId"]
    assert joao_conv != maria_conv
    token = seller_token("seller-bravo")
    deadline = time.time() + WAIT / 1000
    while time.time() < deadline:
        convs = {c["id"]: c for c in seller_conversations(token)}
        if maria_conv in convs and joao_conv in convs:
            break
        time.sleep(0.2)
    assert convs[maria_conv]["from_user"]["full_name"] == "Maria Souza"
    assert convs[joao_conv]["from_user"]["full_name"] == "João Pereira"
    # Signed out: the widget forgets João.
    page.evaluate("window.__switchShopper(null)")
    open_widget(page)
    expect(frame(page).get_by_text("Entre na sua conta para conversar")).to_be_visible(timeout=WAIT)
    expect(frame(page).get_by_role("textbox", name="Mensagem")).to_have_count(0)


def test_a_refused_message_shows_its_reason_to_its_sender_only(ctx):
    page = ctx.new_page()
    page.goto(page_url(email=MARIA, product="TEST-CPF", title="Cadeira de teste"))
    open_widget(page)
    send(page, "A cadeira aguenta 120 kg?")
    conv_id = wait_event(page, "conversationStarted")["conversation"]["conversationId"]
    send(page, "meu cpf é 529.982.247-25")
    refused = thread(page).get_by_role("listitem").filter(has_text="529.982.247-25")
    expect(refused).to_contain_text("Não enviada: A mensagem contém um CPF", timeout=WAIT)
    expect(frame(page).get_by_text("Aguardando aprovação")).to_have_count(0, timeout=WAIT)
    token = seller_token()
    _, msgs = api("GET", f"/v0/conversations/{conv_id}/messages", token=token)
    assert [m["content"] for m in msgs["results"]] == ["A cadeira aguenta 120 kg?"], msgs


def test_a_token_for_another_email_is_refused(ctx):
    page = ctx.new_page()
    page.goto(page_url(email=JOAO, token_for=MARIA, product="TEST-TV"))
    wait_event(page, "widgetLoaded")
    open_widget(page)
    expect(frame(page).get_by_text("Não foi possível confirmar sua identificação")).to_be_visible()
    expect(frame(page).get_by_role("textbox", name="Mensagem")).to_have_count(0)
    assert not events(page, "contactAssociated")


def test_a_seller_reply_arrives_without_reload_and_counts_as_unread(ctx):
    page = ctx.new_page()
    page.goto(page_url(email=MARIA, product="TEST-FONE", title="Fone de teste"))
    open_widget(page)
    send(page, "O fone tem microfone?")
    conv_id = wait_event(page, "conversationStarted")["conversation"]["conversationId"]
    expect(frame(page).get_by_text("Aguardando aprovação")).to_have_count(0, timeout=WAIT)
    page.evaluate("BalcaoConversations.widget.close()")
    wait_event(page, "widgetClosed")
    page.evaluate("window.__marker = 'same document'")
    before = events(page, "unreadConversationCountChanged")[-1]["payload"]["unreadCount"]
    token = seller_token()
    deadline = time.time() + WAIT / 1000
    while time.time() < deadline:  # visible to the seller once approved
        status, _ = api("GET", f"/v0/conversations/{conv_id}", token=token)
        if status == 200:
            break
        time.sleep(0.2)
    status, body = api("POST", f"/v0/conversations/{conv_id}/messages",
                       {"content": "Tem sim, com cancelamento de ruído.",
                        "owner": {"name": "Ana do Atendimento", "external_id": "ana"}}, token=token)
    assert status == 201, body
    unread = wait_event(page, "unreadConversationCountChanged", lambda p: p["unreadCount"] == before + 1)
    expect(frame(page).locator("#badge")).to_have_text(str(unread["unreadCount"]))
    open_widget(page)
    expect(thread(page)).to_contain_text("Tem sim, com cancelamento de ruído.")
    expect(thread(page)).to_contain_text("Ana do Atendimento")
    assert page.evaluate("window.__marker") == "same document"
    # Opened and read: the count goes back down and the seller sees it read.
    deadline = time.time() + WAIT / 1000
    while True:
        counts = [e["payload"]["unreadCount"] for e in events(page, "unreadConversationCountChanged")]
        if before in counts[counts.index(before + 1):]:
            break
        assert time.time() < deadline, counts
        page.wait_for_timeout(100)
    _, conv = api("GET", f"/v0/conversations/{conv_id}", token=token)
    assert conv["unread_from_count"] == 0, conv


def test_markup_shows_as_text_on_both_sides(ctx):
    page = ctx.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(page_url(email=MARIA, product="TEST-XSS", title="<b>negrito</b>"))
    open_widget(page)
    send(page, XSS)
    conv_id = wait_event(page, "conversationStarted")["conversation"]["conversationId"]
    expect(thread(page)).to_contain_text(XSS)
    expect(frame(page).get_by_text("Sobre: <b>negrito</b>")).to_be_visible()
    assert thread(page).locator("img").count() == 0
    token = seller_token()
    deadline = time.time() + WAIT / 1000
    while api("GET", f"/v0/conversations/{conv_id}", token=token)[0] != 200 and time.time() < deadline:
        time.sleep(0.2)
    inbox = ctx.new_page()
    inbox.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    inbox.goto(API + "/inbox/")
    inbox.get_by_role("button", name="Entrar como ACME Eletro (seller-acme)").click()
    item = inbox.get_by_role("list", name="Conversas").get_by_role("button").filter(has_text="<b>negrito</b>")
    item.click()
    expect(inbox.get_by_role("list", name="Mensagens")).to_contain_text(XSS)
    assert inbox.locator("img, b").count() == 0
    page.wait_for_timeout(500)
    assert dialogs == [], dialogs


def test_keyboard_only(ctx):
    page = ctx.new_page()
    page.goto(page_url(email=MARIA, product="TEST-KBD", title="Teclado de teste"))
    wait_event(page, "widgetLoaded")
    launcher = frame(page).get_by_role("button", name="Abrir chat")
    for _ in range(10):  # Tab from the top of the page until the launcher has focus
        page.keyboard.press("Tab")
        if launcher.evaluate("b => b === document.activeElement && document.hasFocus()"):
            break
    else:
        raise AssertionError("Tab never reached the launcher")
    page.keyboard.press("Enter")
    box = frame(page).get_by_role("textbox", name="Mensagem")
    expect(box).to_be_focused()
    page.keyboard.type("Pergunta só com o teclado")
    page.keyboard.press("Enter")
    wait_event(page, "conversationStarted")
    expect(thread(page)).to_contain_text("Pergunta só com o teclado")
    expect(box).to_be_focused()
    expect(box).to_have_value("")
    page.keyboard.press("Escape")
    closed = frame(page).get_by_role("button", name="Abrir chat")
    expect(closed).to_be_focused()
    expect(frame(page).get_by_role("list", name="Mensagens")).to_be_hidden()


def test_sdk_api_and_english(ctx):
    page = ctx.new_page()
    warnings = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.goto(page_url(email=MARIA, product="TEST-EN", title="English test", locale="en"))
    wait_event(page, "widgetLoaded")
    # load() again within a second is refused, as in the seed's SDK.
    page.evaluate("BalcaoConversations.widget.load()")
    assert any("one call a second" in w or "already loaded" in w for w in warnings), warnings
    assert page.locator("iframe").count() == 1
    page.evaluate("BalcaoConversations.widget.open()")
    expect(frame(page).get_by_role("textbox", name="Message")).to_be_visible()
    expect(frame(page).get_by_role("button", name="Send")).to_be_visible()
    send(page, "Does it ship today?", box="Message", button="Send")
    expect(thread(page, "Messages")).to_contain_text("Does it ship today?")
    frame(page).get_by_role("button", name="Close chat").click()
    wait_event(page, "widgetClosed")
    wait_event(page, "userInteractedWithWidget")
    # on/off: a removed handler is not called.
    page.evaluate("""() => { window.__count = 0; window.__h = () => window.__count++;
        BalcaoConversations.on('widgetClosed', window.__h); BalcaoConversations.off('widgetClosed', window.__h); }""")
    page.evaluate("BalcaoConversations.widget.open()")
    page.evaluate("BalcaoConversations.widget.close()")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__count") == 0
    page.evaluate("BalcaoConversations.widget.remove()")
    assert page.locator("iframe").count() == 0
    assert page.evaluate("BalcaoConversations.widget.status()") == {"loaded": False}


def test_hubspot_snippet_works_as_written(ctx):
    page = ctx.new_page()
    page.goto(page_url(email=MARIA, compat="hubspot", product="TEST-HS", title="HubSpot test"))
    wait_event(page, "widgetLoaded")
    assert page.evaluate("window.HubSpotConversations === window.BalcaoConversations")
    assert page.evaluate("HubSpotConversations.widget.status().loaded")
    open_widget(page)
    send(page, "Funciona com o snippet da HubSpot?")
    wait_event(page, "conversationStarted")
    no_csp_violations(page)


def test_inline_embed(ctx):
    page = ctx.new_page()
    page.goto(page_url(email=MARIA, inline="1"))
    wait_event(page, "widgetLoaded")
    assert page.locator("#chat-here iframe").count() == 1
    # Inline: always open, no launcher; the conversation list is there.
    expect(frame(page).get_by_role("list", name="Conversas")).to_be_visible()
    expect(frame(page).get_by_role("button", name="Abrir chat")).to_be_hidden()


def test_messages_from_another_origin_are_ignored(ctx):
    page = ctx.new_page()
    page.goto(page_url(product="TEST-ORIGIN"))
    wait_event(page, "widgetLoaded")
    # A page on a third origin frames the widget's app claiming the store's origin: the app
    # answers only to that exact origin, so the framing page gets nothing, and its init is ignored.
    evil = ctx.new_page()
    evil.goto(API.replace("127.0.0.1", "localhost") + "/inbox/")  # any other origin will do
    got = evil.evaluate(f"""() => new Promise(resolve => {{
        const f = document.createElement('iframe');
        const heard = [];
        window.addEventListener('message', e => heard.push(e.data));
        f.src = {json.dumps(API + '/widget/v1/frame.html?origin=' + urllib.parse.quote(HOST, safe=''))};
        f.onload = () => {{
            f.contentWindow.postMessage({{balcao: 1, type: 'init', settings: {{}}, open: true}}, '*');
            setTimeout(() => resolve(heard), 1500);
        }};
        document.body.appendChild(f);
    }})""")
    assert got == [], got


def test_telesales_in_the_demo_store(ctx):
    page = ctx.new_page()
    page.goto(API + "/demo/")
    page.get_by_role("button", name="Ana (televendas) atende Maria").click()
    expect(page.get_by_role("status")).to_contain_text("Agora você é Ana", timeout=WAIT)
    open_widget(page)
    expect(frame(page).get_by_text("Televendas: você está atendendo como maria@example.com")).to_be_visible(timeout=WAIT)
    send(page, "Cliente pediu entrega expressa.")
    expect(thread(page)).to_contain_text("Cliente pediu entrega expressa.")
    expect(thread(page)).to_contain_text("por Ana")
    inbox = ctx.new_page()
    inbox.goto(API + "/inbox/")
    inbox.get_by_role("button", name="Entrar como ACME Eletro (seller-acme)").click()
    item = inbox.get_by_role("list", name="Conversas").get_by_role("button").filter(has_text="Cliente pediu entrega expressa.")
    expect(item).to_contain_text("Televendas: Ana", timeout=WAIT)
    page.screenshot(path=os.path.join(SHOTS, "demo-telesales.png"))
    # Back to Maria herself: her own token, no impersonation.
    page.get_by_role("button", name="Maria", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Agora você é Maria", timeout=WAIT)
    open_widget(page)
    expect(frame(page).get_by_text("Televendas: você está atendendo como")).to_have_count(0, timeout=WAIT)
    expect(thread(page)).to_contain_text("Cliente pediu entrega expressa.")


def test_inbox_replies_marks_read_closes_reopens_and_manages_webhooks(ctx):
    page = ctx.new_page()
    page.goto(page_url(email=JOAO, product="TEST-INBOX", title="Mesa de teste"))
    open_widget(page)
    send(page, "A mesa é de madeira?")
    conv_id = wait_event(page, "conversationStarted")["conversation"]["conversationId"]
    inbox = ctx.new_page()
    inbox.goto(API + "/inbox/")
    inbox.get_by_role("button", name="Entrar como ACME Eletro (seller-acme)").click()
    item = inbox.get_by_role("list", name="Conversas").get_by_role("button").filter(has_text="Mesa de teste")
    expect(item).to_be_visible(timeout=WAIT)
    item.click()
    inbox.get_by_role("textbox", name="Atendente").fill("Bruno")
    inbox.get_by_role("textbox", name="Mensagem").fill("É de carvalho.")
    inbox.get_by_role("button", name="Enviar").click()
    expect(inbox.get_by_role("list", name="Mensagens")).to_contain_text("É de carvalho.")
    expect(thread(page)).to_contain_text("É de carvalho.", timeout=WAIT)
    expect(thread(page)).to_contain_text("Bruno")
    inbox.get_by_role("button", name="Marcar como lida").click()
    expect(inbox.get_by_role("status").filter(has_text="Marcada como lida.")).to_be_visible()
    _, conv = api("GET", f"/v0/conversations/{conv_id}", token=seller_token())
    assert conv["unread_to_count"] == 0, conv
    inbox.get_by_role("button", name="Encerrar conversa").click()
    expect(inbox.get_by_role("button", name="Reabrir conversa")).to_be_visible()
    # The shopper sees it closed, and writing reopens it.
    wait_event(page, "conversationClosed", lambda p: p["conversation"]["conversationId"] == conv_id)
    expect(frame(page).get_by_text("Esta conversa foi encerrada")).to_be_visible(timeout=WAIT)
    send(page, "Ainda tenho uma dúvida.")
    expect(frame(page).get_by_text("Esta conversa foi encerrada")).to_have_count(0, timeout=WAIT)
    expect(inbox.get_by_role("button", name="Encerrar conversa")).to_be_visible(timeout=WAIT)
    inbox.get_by_role("button", name="Encerrar conversa").click()
    inbox.get_by_role("button", name="Reabrir conversa").click()
    expect(inbox.get_by_role("button", name="Encerrar conversa")).to_be_visible()
    # Webhooks: the secret is shown once, listed without it, and removed.
    inbox.get_by_role("textbox", name="URL do receptor").fill("https://erp.example.com/balcao-hook")
    inbox.get_by_role("button", name="Assinar").click()
    secret = inbox.locator("#secret-value")
    expect(secret).to_have_text(re.compile(r"^whsec_"))
    subs = inbox.get_by_role("list", name="Assinaturas")
    expect(subs).to_contain_text("https://erp.example.com/balcao-hook")
    inbox.reload()
    expect(inbox.locator("#secret")).to_be_hidden()
    expect(subs).to_contain_text("https://erp.example.com/balcao-hook")
    assert "whsec_" not in inbox.content()
    inbox.get_by_role("button", name="Remover https://erp.example.com/balcao-hook").click()
    expect(subs).not_to_contain_text("https://erp.example.com/balcao-hook")


def test_files_fit_their_gzip_budgets(ctx):
    import gzip
    sizes = {}
    for path in ["/widget/v1/balcao.js", "/widget/v1/frame.html", "/widget/v1/frame.js", "/widget/v1/frame.css",
                 "/widget/v1/live.js"]:
        with urllib.request.urlopen(API + path) as r:
            sizes[path] = len(gzip.compress(r.read(), 9))
    loader = sizes.pop("/widget/v1/balcao.js")
    assert loader <= 5 * 1024, loader
    assert sum(sizes.values()) <= 60 * 1024, sizes


def axe_scan(frame_or_page):
    with open(AXE) as f:
        frame_or_page.evaluate(f.read())
    result = frame_or_page.evaluate("""() => axe.run(document, {resultTypes: ['violations']})
        .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length})))""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def test_axe_finds_nothing_serious_on_the_widget_and_the_inbox(browser):
    # axe is injected by evaluate; bypass_csp lets it run inside the pages' strict policies.
    ctx = browser.new_context(bypass_csp=True)
    try:
        # The scan can fail: a page with an unlabelled button and an image without text.
        bad_page = ctx.new_page()
        bad_page.set_content("<html lang=en><title>x</title><button></button><img src=x></html>")
        assert {v["id"] for v in axe_scan(bad_page)} >= {"button-name", "image-alt"}
        page = ctx.new_page()
        page.goto(page_url(email=MARIA, product="TEST-AXE", title="Acessível", open="1"))
        wait_event(page, "widgetLoaded")
        expect(frame(page).get_by_role("textbox", name="Mensagem")).to_be_visible()
        app = next(f for f in page.frames if f.url.startswith(API + "/widget/v1/frame.html"))
        bad = axe_scan(app)
        assert bad == [], bad
        inbox = ctx.new_page()
        inbox.goto(API + "/inbox/")
        assert axe_scan(inbox) == [], "sign-in"
        inbox.get_by_role("button", name="Entrar como ACME Eletro (seller-acme)").click()
        inbox.get_by_role("list", name="Conversas").get_by_role("button").first.click()
        expect(inbox.get_by_role("list", name="Mensagens")).to_be_visible()
        bad = axe_scan(inbox)
        assert bad == [], bad
    finally:
        ctx.close()


def wait_live(page):
    expect(frame(page).locator("#app")).to_have_attribute("data-live", "live", timeout=WAIT)


def test_a_live_reply_is_shown_with_no_poll_in_between(ctx):
    """The widget holds a WebSocket: the seller's reply is pushed, not polled for."""
    page = ctx.new_page()
    requests = []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(page_url(email=MARIA, product="TEST-LIVE", title="Caixa de som"))
    open_widget(page)
    send(page, "A caixa de som é bivolt?")
    conv_id = wait_event(page, "conversationStarted")["conversation"]["conversationId"]
    expect(frame(page).get_by_text("Aguardando aprovação")).to_have_count(0, timeout=WAIT)
    wait_live(page)
    assert any(u.startswith(API.replace("http", "ws") + "/ws") for u in sockets), sockets
    token = seller_token()
    deadline = time.time() + WAIT / 1000
    while api("GET", f"/v0/conversations/{conv_id}", token=token)[0] != 200:
        assert time.time() < deadline
        time.sleep(0.1)
    page.wait_for_timeout(3000)  # longer than a poll interval: none happens while live
    mark = len(requests)
    status, body = api("POST", f"/v0/conversations/{conv_id}/messages",
                       {"content": "É bivolt, sim.", "owner": {"name": "Ana do Atendimento", "external_id": "ana"}},
                       token=token)
    assert status == 201, body
    expect(thread(page)).to_contain_text("É bivolt, sim.", timeout=WAIT)
    polls = [(m, u) for m, u in requests[mark:] if m == "GET" and "/messages" in u]
    assert polls == [], polls
    assert not [u for _, u in requests[mark:] if "/v0/customer/conversations?" in u], requests[mark:]
    page.screenshot(path=os.path.join(SHOTS, "widget-live-reply.png"))


def test_a_dropped_socket_resumes_and_shows_each_message_once(ctx):
    """The network goes away (socket and HTTP: the widget's origin is a relay the test cuts)
    while the seller writes three messages; the widget says it is reconnecting, then resumes from
    its cursor and shows each message once."""
    page = ctx.new_page()
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    page.goto(page_url(email=JOAO, product="TEST-DROP", title="Cafeteira", via="relay"))
    open_widget(page)
    send(page, "A cafeteira tem timer?")
    conv_id = wait_event(page, "conversationStarted")["conversation"]["conversationId"]
    expect(frame(page).get_by_text("Aguardando aprovação")).to_have_count(0, timeout=WAIT)
    wait_live(page)
    token = seller_token()
    deadline = time.time() + WAIT / 1000
    while api("GET", f"/v0/conversations/{conv_id}", token=token)[0] != 200:
        assert time.time() < deadline
        time.sleep(0.1)
    RELAY.cut()
    try:
        expect(frame(page).get_by_role("status").filter(has_text="Reconectando")).to_be_visible(timeout=WAIT)
        texts = ["Tem timer, sim.", "Programável até 24 h.", "E desliga sozinha."]
        for text in texts:
            status, body = api("POST", f"/v0/conversations/{conv_id}/messages",
                               {"content": text, "owner": {"name": "Ana", "external_id": "ana"}}, token=token)
            assert status == 201, body
        deadline = time.time() + WAIT / 1000
        while True:  # all three approved while the widget is cut off
            _, listed = api("GET", f"/v0/conversations/{conv_id}/messages?_limit=100", token=token)
            got = [m for m in listed["results"]
                   if m["content"] in texts and m["moderation"]["status"] == "APPROVED"]
            if len(got) == 3:
                break
            assert time.time() < deadline, listed
            time.sleep(0.1)
        page.wait_for_timeout(1000)
        for text in texts:
            expect(thread(page).get_by_text(text)).to_have_count(0)
        sent_before = len(sent)
    finally:
        RELAY.restore()
    wait_live(page)
    for text in texts:
        expect(thread(page).get_by_text(text, exact=True)).to_have_count(1, timeout=WAIT)
    resumes = [json.loads(m) for m in sent[sent_before:] if '"resume"' in m]
    assert resumes and resumes[0]["conversation_id"] == conv_id, sent
    expect(frame(page).get_by_role("status").filter(has_text="Reconectando")).to_have_count(0)
    page.wait_for_timeout(1500)
    for text in texts:
        expect(thread(page).get_by_text(text, exact=True)).to_have_count(1)


def test_two_tabs_of_one_shopper_stay_in_sync(ctx):
    """What the shopper writes in one tab and the seller's answer show in the other, live."""
    tabs = [ctx.new_page(), ctx.new_page()]
    for tab in tabs:
        tab.goto(page_url(email=JOAO, product="TEST-TABS", title="Ventilador"))
        open_widget(tab)
    send(tabs[0], "O ventilador é silencioso?")
    conv_id = wait_event(tabs[0], "conversationStarted")["conversation"]["conversationId"]
    wait_live(tabs[1])
    expect(thread(tabs[1]).get_by_text("O ventilador é silencioso?", exact=True)).to_have_count(1, timeout=WAIT)
    token = seller_token()
    deadline = time.time() + WAIT / 1000
    while api("GET", f"/v0/conversations/{conv_id}", token=token)[0] != 200:
        assert time.time() < deadline
        time.sleep(0.1)
    status, body = api("POST", f"/v0/conversations/{conv_id}/messages",
                       {"content": "Bem silencioso.", "owner": {"name": "Ana", "external_id": "ana"}}, token=token)
    assert status == 201, body
    for tab in tabs:
        expect(thread(tab).get_by_text("Bem silencioso.", exact=True)).to_have_count(1, timeout=WAIT)
        expect(thread(tab).get_by_text("O ventilador é silencioso?", exact=True)).to_have_count(1)


def test_inbox_shows_a_customer_message_live(ctx):
    """The inbox holds a socket too: a shopper's message appears once approved, with no request
    of the inbox's in between."""
    inbox = ctx.new_page()
    inbox.goto(API + "/inbox/")
    inbox.get_by_role("button", name="Entrar como ACME Eletro (seller-acme)").click()
    expect(inbox.get_by_role("list", name="Conversas").get_by_role("button").first).to_be_visible(timeout=WAIT)
    expect(inbox.locator("#workspace")).to_have_attribute("data-live", "live", timeout=WAIT)
    requests = []
    inbox.on("request", lambda r: requests.append((r.method, r.url)))
    page = ctx.new_page()
    page.goto(page_url(email=MARIA, product="TEST-INBOX-LIVE", title="Liquidificador"))
    open_widget(page)
    send(page, "O liquidificador tem quantas velocidades?")
    # A new conversation appears in the list by itself.
    expect(inbox.get_by_role("list", name="Conversas")).to_contain_text("Liquidificador", timeout=WAIT)
    assert requests == [], requests
    inbox.get_by_role("list", name="Conversas").get_by_role("button", name=re.compile("Liquidificador")).click()
    expect(inbox.get_by_role("list", name="Mensagens")).to_contain_text("quantas velocidades", timeout=WAIT)
    requests.clear()
    send(page, "E o copo é de vidro?")
    expect(inbox.get_by_role("list", name="Mensagens")).to_contain_text("copo é de vidro", timeout=WAIT)
    assert not [r for r in requests if "/messages" in r[1]], requests
    expect(inbox.get_by_role("list", name="Conversas").get_by_role("button", name=re.compile("Liquidificador"))
           ).to_contain_text("não lida")


TESTS = [
    test_unknown_visitor_cannot_post,
    test_identified_shopper_starts_a_conversation_seen_in_the_inbox,
    test_second_shopper_after_clear_gets_their_own_conversation,
    test_a_refused_message_shows_its_reason_to_its_sender_only,
    test_a_token_for_another_email_is_refused,
    test_a_seller_reply_arrives_without_reload_and_counts_as_unread,
    test_markup_shows_as_text_on_both_sides,
    test_keyboard_only,
    test_sdk_api_and_english,
    test_hubspot_snippet_works_as_written,
    test_inline_embed,
    test_messages_from_another_origin_are_ignored,
    test_telesales_in_the_demo_store,
    test_inbox_replies_marks_read_closes_reopens_and_manages_webhooks,
    test_files_fit_their_gzip_budgets,
    test_a_live_reply_is_shown_with_no_poll_in_between,
    test_a_dropped_socket_resumes_and_shows_each_message_once,
    test_two_tabs_of_one_shopper_stay_in_sync,
    test_inbox_shows_a_customer_message_live,
]


def start_stack():
    binary = os.path.join(ROOT, "target", "debug", "balcao-local")
    log = open(os.path.join(ROOT, "target", "browser-stack.log"), "w")
    proc = subprocess.Popen([binary, "--addr", f"127.0.0.1:{API_PORT}"], stdout=log,
                            stderr=subprocess.STDOUT, env=dict(os.environ, RUST_LOG="warn"))
    for _ in range(200):
        try:
            urllib.request.urlopen(API + "/widget/v1/balcao.js", timeout=1)
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("the local stack did not start (target/browser-stack.log)")


def main():
    only = sys.argv[1:]
    os.makedirs(SHOTS, exist_ok=True)
    stack = start_stack()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", HOST_PORT), Host)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    passed = failed = 0
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for test in TESTS + [test_axe_finds_nothing_serious_on_the_widget_and_the_inbox]:
                if only and test.__name__ not in only:
                    continue
                started = time.time()
                try:
                    if test is test_axe_finds_nothing_serious_on_the_widget_and_the_inbox:
                        test(browser)
                    else:
                        ctx = browser.new_context()
                        try:
                            test(ctx)
                        finally:
                            ctx.close()
                    passed += 1
                    print(f"ok   {test.__name__} ({time.time() - started:.1f} s)", flush=True)
                except Exception:
                    failed += 1
                    print(f"FAIL {test.__name__}\n{traceback.format_exc()}", flush=True)
            browser.close()
    finally:
        server.shutdown()
        stack.terminate()
        stack.wait(timeout=10)
    print(f"browser: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
