/*
 * idbb: sign in with the wallet app (GovStack §8 "Wallet – QR Code"). The only script of the UI, loaded from
 * 'self' by wallet.html under the pages' CSP (script-src 'self'; connect-src 'self'): no inline code, no eval.
 *
 * 1. Long-poll POST /linked-authorization/link-status for the code on screen until the wallet links it
 *    (an answer without linkStatus is the server's poll timeout: poll again).
 * 2. Before the code expires, ask for a new one (POST /linked-authorization/link-code) and swap the QR code
 *    (/authorize/wallet/qr.svg), the code text, the same-device link and the countdown.
 * 3. Once linked, long-poll POST /linked-authorization/link-auth-code until the wallet has authenticated the
 *    person and consented, then return to the relying party with code, state and iss (RFC 9207), or with
 *    error=access_denied when the person declined.
 * Every call sends X-XSRF-TOKEN, the value of the page's XSRF-TOKEN cookie (double submit), and, being
 * same-origin (credentials: "same-origin"), the browser's idbb_browser cookie: link-code and link-auth-code
 * answer only the browser that started the login (another one gets invalid_transaction_id, shown as expired).
 * Times are the server's: the page gives its clock, so a wrong clock on this computer does not matter.
 */
(function () {
  "use strict";

  var root = document.getElementById("wallet");
  if (!root || !window.fetch) {
    return;
  }
  var data = root.dataset;
  var txn = data.txn;
  var offset = Number(data.serverNow) - Date.now(); // server clock minus this computer's
  var deadline = Number(data.txnExpires); // the transaction's end (server time, ms)
  var linkedTtl = Number(data.linkedTtl) * 1000;
  var MAX_CODES = 3; // the codes shown lately, newest first: a wallet may have scanned the previous one
  var RETRIES = 4;

  var codes = [];
  var current = null;
  var stopped = false;
  var linked = false;
  var poll = null; // AbortController of the link-status poll running for the current code
  var refreshTimer = null;
  var tickTimer = null;

  function $(id) {
    return document.getElementById(id);
  }

  function now() {
    return Date.now() + offset;
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  function ApiError(code) {
    this.code = code;
  }

  // One envelope call: the answer's `response`, or ApiError(errorCode); network and 5xx errors are thrown as is.
  function call(path, request, signal) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-XSRF-TOKEN": data.xsrf},
      body: JSON.stringify({requestTime: new Date(now()).toISOString(), request: request}),
      signal: signal
    }).then(function (response) {
      if (response.status === 403) {
        throw new ApiError("invalid_csrf_token");
      }
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    }).then(function (body) {
      if (body && body.errors && body.errors.length) {
        throw new ApiError(String(body.errors[0].errorCode || "unknown_error"));
      }
      return (body && body.response) || {};
    });
  }

  // The call again after a network or server failure (1 s, 2 s, 4 s); errors of the API are final.
  async function retrying(path, request, signal) {
    for (var attempt = 0; ; attempt++) {
      try {
        return await call(path, request, signal);
      } catch (err) {
        if (err instanceof ApiError || (err && err.name === "AbortError") || attempt >= RETRIES - 1 || stopped) {
          throw err;
        }
        await sleep(1000 * Math.pow(2, attempt));
      }
    }
  }

  // ------------------------------------------------------------------------------------------ the screen

  function fill(template, code, expires) {
    return template.split("{linkCode}").join(encodeURIComponent(code))
      .split("{expireDateTime}").join(encodeURIComponent(expires));
  }

  function showCode(code, expiresText) {
    var box = $("wallet-code");
    box.replaceChildren();
    for (var i = 0; i < code.length; i += 5) {
      var group = document.createElement("span");
      group.textContent = code.slice(i, i + 5);
      box.appendChild(group);
    }
    $("wallet-same-device").href = fill(data.deepLinkTemplate, code, expiresText);
    var image = new Image();
    image.alt = "";
    image.width = 256;
    image.height = 256;
    var swap = function () {
      if (current && current.code === code) {
        $("wallet-qr").replaceChildren(image);
      }
    };
    image.onload = swap;
    image.onerror = swap; // never leave the QR code of an expiring link code on screen
    image.src = "/authorize/wallet/qr.svg?code=" + encodeURIComponent(code) + "&exp=" + encodeURIComponent(expiresText);
  }

  function tick() {
    var left = current ? Math.max(0, current.expires - now()) : 0;
    var seconds = Math.ceil(left / 1000);
    $("wallet-remaining").textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
    if (now() >= deadline) {
      fail(new ApiError("invalid_transaction"));
    }
  }

  function status(text) {
    var box = $("wallet-linked");
    if (text) {
      box.textContent = text;
    }
    $("wallet-scan").hidden = true;
    box.hidden = false;
  }

  function stop() {
    stopped = true;
    clearTimeout(refreshTimer);
    clearInterval(tickTimer);
    if (poll) {
      poll.abort();
    }
  }

  function fail(err) {
    if (stopped) {
      return;
    }
    stop();
    var code = err instanceof ApiError ? err.code : "";
    var expired = code === "invalid_transaction" || code === "invalid_transaction_id";
    $("wallet-error-text").textContent = expired ? data.msgExpired : data.msgFailed;
    $("wallet-scan").hidden = true;
    $("wallet-linked").hidden = true;
    $("wallet-error").hidden = false;
  }

  // Back to the relying party: its redirect URI (from idbb, registered) with the answer in the query.
  function back(redirectUri, params) {
    if (typeof redirectUri !== "string" || !/^[a-z][a-z0-9+.-]*:/i.test(redirectUri) ||
        /^(javascript|data|vbscript|blob|file):/i.test(redirectUri)) {
      fail(new ApiError("invalid_redirect_uri"));
      return;
    }
    var query = Object.keys(params).filter(function (name) {
      return params[name] !== null && params[name] !== undefined && params[name] !== "";
    }).map(function (name) {
      return encodeURIComponent(name) + "=" + encodeURIComponent(params[name]);
    }).join("&");
    stop();
    status(data.msgReturning);
    window.location.replace(redirectUri + (redirectUri.indexOf("?") >= 0 ? "&" : "?") + query);
  }

  // ------------------------------------------------------------------------------------------ link codes

  function use(code, expiresText) {
    var expires = Date.parse(expiresText);
    current = {code: code, expires: expires, issued: now()};
    codes.unshift(current);
    codes.length = Math.min(codes.length, MAX_CODES);
    clearTimeout(refreshTimer);
    var lead = Math.min(10000, Math.max(2000, (expires - current.issued) * 0.2));
    if (expires - lead < deadline) { // no new code once the transaction itself ends first
      refreshTimer = setTimeout(renew, Math.max(0, expires - lead - now()));
    }
    tick();
  }

  async function renew() {
    if (stopped || linked) {
      return;
    }
    try {
      var made = await retrying("/linked-authorization/link-code", {transactionId: txn});
    } catch (err) {
      fail(err);
      return;
    }
    if (stopped || linked) {
      return;
    }
    use(made.linkCode, made.expireDateTime);
    showCode(made.linkCode, made.expireDateTime);
    if (poll) {
      poll.abort(); // the link-status loop goes on with the new code
    }
  }

  // The code on screen was refused: a wallet may have linked an earlier one (linking expires the others).
  async function linkedEarlier(refused) {
    for (var i = 0; i < codes.length; i++) {
      if (codes[i] === refused) {
        continue;
      }
      try {
        var answer = await call("/linked-authorization/link-status", {transactionId: txn, linkCode: codes[i].code});
        if (answer.linkStatus === "LINKED") {
          return {code: codes[i], answer: answer};
        }
      } catch (err) {
        // expired or unknown: try the next one
      }
    }
    return null;
  }

  async function watchLink() {
    var recoveries = 0;
    while (!stopped && !linked) {
      var code = current;
      poll = new AbortController();
      var answer;
      try {
        answer = await retrying("/linked-authorization/link-status",
          {transactionId: txn, linkCode: code.code}, poll.signal);
      } catch (err) {
        if (err && err.name === "AbortError") {
          continue; // a new code is on screen
        }
        if (!(err instanceof ApiError) || err.code !== "invalid_link_code" || stopped) {
          fail(err);
          return;
        }
        var earlier = await linkedEarlier(code);
        if (earlier) {
          onLinked(earlier.code, earlier.answer);
          return;
        }
        if (++recoveries > 2) {
          fail(err);
          return;
        }
        if (current === code) {
          await renew(); // this code ran out (a sleeping tab, a slow network): show a new one
        }
        continue;
      }
      if (answer.linkStatus === "LINKED") {
        onLinked(code, answer);
        return;
      }
    }
  }

  // ------------------------------------------------------------------------------------------ linked

  function onLinked(code, answer) {
    linked = true;
    clearTimeout(refreshTimer);
    var linkedAt = Date.parse(answer.linkedDateTime);
    deadline = Math.max(deadline, (isNaN(linkedAt) ? now() : linkedAt) + linkedTtl);
    status();
    watchAuthCode(code);
  }

  async function watchAuthCode(code) {
    while (!stopped) {
      var answer;
      try {
        answer = await retrying("/linked-authorization/link-auth-code", {transactionId: txn, linkedCode: code.code});
      } catch (err) {
        fail(err);
        return;
      }
      if (stopped) {
        return;
      }
      if (answer.code) {
        back(answer.redirectUri, {code: answer.code, state: answer.state, iss: data.issuer});
        return;
      }
      if (answer.error) { // the person declined on the phone (access_denied)
        if (/^[a-z_]+$/.test(answer.error)) {
          back(answer.redirectUri, {error: answer.error, state: answer.state, iss: data.issuer});
        } else {
          fail(new ApiError(String(answer.error)));
        }
        return;
      }
      // {}: the server's poll timeout, still waiting for the phone
    }
  }

  // ------------------------------------------------------------------------------------------ start

  use(data.linkCode, data.expires);
  tickTimer = setInterval(tick, 1000);
  watchLink();
}());
