"""`trustgate console` in a real browser: headless Debian chromium driven by chromedriver
(scripts/browser.sh installs them), against the admin function behind the SigV4-verifying
proxy (sigv4_proxy.py), so every admin call the console makes must be signed with the
operator's credentials. Walks the pages an identity admin would (organization, a trusted
issuer by certificate upload, an application, Try it out), asserts what each page shows, and
writes a screenshot of each under target/console-screenshots/."""

import base64
import os
import re
import secrets
import subprocess
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "target" / "console-screenshots"
CHROMEDRIVER = os.environ.get("TRUSTGATE_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = "/usr/bin/chromium"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


@pytest.fixture
def console(sigv4_proxy, tmp_path):
    """The console against the proxy, signing with the proxy's test credentials."""
    cli = os.environ.get("TRUSTGATE_E2E_CLI")
    if not cli:
        pytest.fail("TRUSTGATE_E2E_CLI is not set: the end-to-end tests run under `make test`")
    credentials = sigv4_proxy.credentials
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_SESSION_TOKEN": credentials.token,
        "AWS_REGION": "us-east-1",
    }
    env.pop("AWS_PROFILE", None)
    process = subprocess.Popen(
        [cli, "console", "--endpoint", sigv4_proxy.url, "--auth", "sigv4"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    url = None
    for line in process.stdout:
        match = re.search(r"http://127\.0\.0\.1:\d+/\?token=[0-9a-f]{64}", line)
        if match:
            url = match.group(0)
            break
    assert url, "the console printed no URL with a token"
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def browser(tmp_path):
    if not Path(CHROMEDRIVER).exists():
        pytest.fail(f"{CHROMEDRIVER} is missing: scripts/browser.sh installs chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1200,1000",
                     f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def shot(driver, name):
    """The whole page: the window grown to its height first (WebDriver's own script, which
    the page's Content-Security-Policy does not govern)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1200, min(max(height + 120, 800), 4000))
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    assert driver.save_screenshot(str(path)), name
    assert path.stat().st_size > 1000, name


def test_requests_without_the_token_or_from_elsewhere_are_refused(console):
    base, token = console.split("/?token=")
    port = base.rsplit(":", 1)[1]
    assert requests.get(f"{base}/", timeout=10).status_code == 401
    assert requests.get(f"{base}/?token={'0' * 64}", timeout=10).status_code == 401
    # DNS rebinding: a page of another name that resolves to 127.0.0.1.
    foreign = requests.get(console, headers={"Host": f"evil.example:{port}"}, timeout=10)
    assert foreign.status_code == 421
    entered = requests.get(console, allow_redirects=False, timeout=10)
    assert entered.status_code == 303 and entered.headers["location"] == "/"
    cookie = entered.headers["set-cookie"]
    assert cookie.startswith(f"trustgate_console_{port}={token};"), cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # Another console's cookie (the same name on another port) does not let anyone in here.
    other = requests.get(f"{base}/", cookies={"trustgate_console_1": token}, timeout=10)
    assert other.status_code == 401
    jar = {f"trustgate_console_{port}": token}
    page = requests.get(f"{base}/", cookies=jar, timeout=60)
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none'
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    # Cross-site form posts: a foreign Origin, or none, changes nothing.
    for origin in ({"Origin": "http://evil.example"}, {}):
        posted = requests.post(f"{base}/organizations", data={"name": "csrf"}, cookies=jar,
                               headers=origin, timeout=10, allow_redirects=False)
        assert posted.status_code == 403, origin


def test_an_operator_creates_an_issuer_and_an_application_and_tries_a_token(
        console, browser, sigv4_proxy, admin_url, idp, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    def find(css):
        return browser.find_element(By.CSS_SELECTOR, css)

    def fill(field_id, value):
        element = find(f"#{field_id}")
        element.clear()
        element.send_keys(value)

    def load(css):
        """Clicks a link or submit button and waits for the next page: an element found right
        after a click may otherwise be the old page's, gone by the time it is read."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        page = find("html")

        def gone(_):
            # Selenium's staleness_of knows only "stale element"; while the old document is
            # being replaced chromedriver may answer "Node with given id does not belong to
            # the document" instead (a CI run failed on it), which says the same.
            try:
                page.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as error:
                if "does not belong to the document" in str(error):
                    return True
                raise

        find(css).click()
        WebDriverWait(browser, 30).until(gone)

    def paste(field_id, value):
        """A paste, not typing: WebDriver sets the value at once (typing a JWT key by key
        takes seconds). WebDriver's own script is not subject to the page's CSP."""
        browser.execute_script("arguments[0].value = arguments[1]", find(f"#{field_id}"), value)

    org = f"console-{secrets.token_hex(3)}"
    browser.get(console)
    assert browser.current_url.endswith("/"), "the token is dropped from the address bar"
    assert find("h1").text == "Organizations"
    shot(browser, "01-organizations")

    # An empty name: the error summary links to the field, which is marked invalid.
    load("form[action='/organizations'] button")
    assert "Enter the organization" in find("#error-summary").text
    assert find("#error-summary a").get_attribute("href").endswith("#name")
    assert find("#name").get_attribute("aria-invalid") == "true"
    fill("name", org)
    load("form[action='/organizations'] button")
    assert find("h1").text == "Connections"
    assert org in find(".org").text
    shot(browser, "02-connections-empty")

    # New trusted token issuer, by uploading the test issuer's certificate as DER.
    pem = idp.certificate_pem()
    der = base64.b64decode("".join(line for line in pem.splitlines() if "-----" not in line))
    der_file = tmp_path / "idp.cer"
    der_file.write_bytes(der)
    load("a.button")
    assert find("h1").text == "New trusted token issuer"
    fill("name", "Test IdP")
    fill("issuer", idp.issuer)
    find("#certificate").send_keys(str(der_file))
    shot(browser, "03-new-issuer")
    load("form button[type=submit]")
    assert find("h1").text == "Connections"
    row = find("tr.created")
    assert "Test IdP" in row.text and idp.issuer in row.text and "Certificate" in row.text

    # A PEM fixture, and a refusal from the API shown in the error summary (duplicate name).
    for name in ("Fixture CA", "Fixture CA"):
        browser.get(console.split("/?")[0] + f"/o/{org}/connections/new")
        fill("name", name)
        fill("issuer", f"https://{secrets.token_hex(4)}.example")
        find("#certificate").send_keys(str(ROOT / "tests/fixtures/rsa2048.cert.pem"))
        load("form button[type=submit]")
    assert find("h1").text == "New trusted token issuer"
    summary = find("#error-summary").text
    assert "name" in summary, summary
    shot(browser, "04-new-issuer-error")
    browser.get(console.split("/?")[0] + f"/o/{org}/connections")
    assert len(browser.find_elements(By.CSS_SELECTOR, "tbody tr")) == 2

    # Applications: SPA with token exchange is refused with the API's detail.
    load("nav a[href$='/applications']")
    load("a.button")
    fill("name", "Browser app")
    find("#type-spa").click()
    assert find("#grant-1").is_selected(), "Token Exchange is checked by default"
    assert "Not supported for token exchange" in find("#type-spa-hint").text
    load("form button[type=submit]")
    assert "not supported for single-page applications" in find("#error-summary").text
    shot(browser, "05-new-application-spa-refused")
    find("#type-oidc").click()
    find("#grant-2").click()  # Refresh Token as well
    fill("name", "Payments API")
    shot(browser, "06-new-application")
    load("form button[type=submit]")
    assert find("h1").text == "Application created"
    client_id = find("#client-id").text
    assert client_id and len(find("#client-secret").text) >= 32
    shot(browser, "07-application-created")
    browser.get(console.split("/?")[0] + f"/o/{org}/applications")
    assert "Token Exchange, Refresh Token" in find("tbody").text
    shot(browser, "08-applications")

    # Try it out with a token from the trusted issuer: allow, and the claims it would carry.
    audience = requests.get(f"{admin_url}/api/organizations/{org}", timeout=30).json()["issuer"]
    load("nav a[href$='/try']")
    Select(find("#client_id")).select_by_value(client_id)
    paste("subject_token", idp.sign("alice", audience))
    load("form button[type=submit]")
    assert find("#decision").text == "allow"
    checks = {row.find_element(By.TAG_NAME, "th").text: row.find_elements(By.TAG_NAME, "td")[0].text
              for row in browser.find_elements(By.CSS_SELECTOR, "#checks tbody tr")}
    assert checks["signature"] == "pass" and checks["issuer"] == "pass"
    assert "fail" not in checks.values()
    claims = find("#claims").text
    assert "alice" in claims and client_id in claims and audience in claims
    shot(browser, "09-try-allow")

    # A token for another audience: deny, the failing check highlighted.
    paste("subject_token", idp.sign("mallory", "https://someone-else.example.com"))
    load("form button[type=submit]")
    assert find("#decision").text == "deny"
    failing = find("#failing-check")
    assert failing.find_element(By.TAG_NAME, "th").text == "audience"
    assert "check--fail" in failing.get_attribute("class")
    assert not browser.find_elements(By.CSS_SELECTOR, "#claims")
    assert "invalid_request" in find("#failure").text
    shot(browser, "10-try-deny")

    # Every admin call went through the proxy signed, none refused.
    assert sigv4_proxy.verified >= 10
    assert sigv4_proxy.refusals == []
