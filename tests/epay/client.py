#!/usr/bin/env python3
"""An epay (易支付) client as the widely used apps implement the protocol
(written from the protocol, Python standard library only), for the
end-to-end tests of the Worker's /epay/ interface (tests/tests/epay.rs).

Environment: EPAY_API (the app's "API URL", e.g. http://127.0.0.1:8787/epay/),
EPAY_PID, EPAY_KEY.

Commands (each prints one JSON line; exit 1 on a failed check):
  submit OUT MONEY NAME NOTIFY RETURN [TYPE] [PARAM]  -> {"status", "location", "body"}
  mapi OUT MONEY NAME NOTIFY RETURN TYPE DEVICE [PARAM] -> mapi.php's JSON
  order TRADE_NO | order-out OUT_TRADE_NO               -> api.php?act=order's JSON
  query                                                 -> api.php?act=query's JSON
  refund TRADE_NO MONEY [OUT_REFUND_NO]                 -> api.php?act=refund's JSON
  verify URL                                            -> the URL's signed result, verified
  notify-server PORT LOG [fail]                         -> a notify receiver on 127.0.0.1
"""

import hashlib
import hmac
import http.server
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

API = os.environ.get("EPAY_API", "")
PID = os.environ.get("EPAY_PID", "")
KEY = os.environ.get("EPAY_KEY", "")


def sign(params, key=None):
    """MD5 of the non-empty parameters but sign/sign_type, sorted by name,
    k=v joined by &, the key appended; lowercase hex."""
    items = sorted(
        (k, v) for k, v in params.items() if k not in ("sign", "sign_type") and v != ""
    )
    text = "&".join(f"{k}={v}" for k, v in items) + (KEY if key is None else key)
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def signed(params):
    out = dict(params)
    out["sign"] = sign(out)
    out["sign_type"] = "MD5"
    return out


def verify(params):
    """As the apps check a notification or return: the sign, the pid and
    TRADE_SUCCESS."""
    given = params.get("sign", "")
    return (
        hmac.compare_digest(sign(params), given)
        and params.get("pid") == PID
        and params.get("trade_status") == "TRADE_SUCCESS"
    )


def url(page):
    base = API if API.endswith("/") else API + "/"
    return base + page


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(u, data=None):
    opener = urllib.request.build_opener(NoRedirect)
    body = None if data is None else urllib.parse.urlencode(data).encode()
    try:
        with opener.open(urllib.request.Request(u, data=body), timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")


def pay_params(out, money, name, notify, ret, typ="", param=""):
    p = {
        "pid": PID,
        "out_trade_no": out,
        "notify_url": notify,
        "return_url": ret,
        "name": name,
        "money": money,
        "sitename": "e2e shop",
    }
    if typ:
        p["type"] = typ
    if param:
        p["param"] = param
    return signed(p)


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "submit":
        p = pay_params(*args)
        status, headers, body = fetch(url("submit.php") + "?" + urllib.parse.urlencode(p))
        print(json.dumps({"status": status, "location": headers.get("Location", ""), "body": body}))
    elif cmd == "mapi":
        out, money, name, notify, ret, typ, device = args[:7]
        p = pay_params(out, money, name, notify, ret, typ, args[7] if len(args) > 7 else "")
        p = dict(p, device=device, clientip="203.0.113.9")
        p = signed({k: v for k, v in p.items() if k not in ("sign", "sign_type")})
        status, _, body = fetch(url("mapi.php"), p)
        print(body)
    elif cmd in ("order", "order-out"):
        field = "trade_no" if cmd == "order" else "out_trade_no"
        q = {"act": "order", "pid": PID, "key": KEY, field: args[0]}
        print(fetch(url("api.php") + "?" + urllib.parse.urlencode(q))[2])
    elif cmd == "query":
        q = {"act": "query", "pid": PID, "key": KEY}
        print(fetch(url("api.php") + "?" + urllib.parse.urlencode(q))[2])
    elif cmd == "refund":
        p = {"act": "refund", "pid": PID, "key": KEY, "trade_no": args[0], "money": args[1]}
        if len(args) > 2:
            p["out_refund_no"] = args[2]
        print(fetch(url("api.php"), p)[2])
    elif cmd == "verify":
        query = urllib.parse.urlsplit(args[0]).query
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        ok = verify(params)
        print(json.dumps({"verified": ok, "params": params}))
        return 0 if ok else 1
    elif cmd == "notify-server":
        port, log = int(args[0]), args[1]
        fail = len(args) > 2 and args[2] == "fail"

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                query = urllib.parse.urlsplit(self.path).query
                params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
                ok = verify(params)
                with open(log, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"verified": ok, "params": params}) + "\n")
                body = b"success" if ok and not fail else b"fail"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
    else:
        print(f"unknown command {cmd}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
