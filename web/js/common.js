// Shared by the chat page and the trainer's console: the token hand-over,
// calls to the kefu API of the same origin, small DOM helpers.
//
// Token hand-over (never a query string: those end up in access logs and
// in the Referer of other requests):
//   1. URL fragment  page.html#token=<JWT>  - read once, then removed from
//      the address bar with history.replaceState, kept in sessionStorage
//      (this tab only; gone when the webview closes);
//   2. window.postMessage({type: "kefu:token", token: "<JWT>"}) from the
//      embedding app: a native webview's injected script (same origin) or
//      a parent frame whose origin is listed in
//      <meta name="kefu-embed-origins" content="https://app.example.com">.
//      The page asks with {type: "kefu:need-token"} when it has none or
//      the token expired.

export const API = new URL('../v1/', document.baseURI).pathname;

export function store(key, value) {
    try {
        if (value === undefined || value === null) {
            sessionStorage.removeItem(key);
        } else {
            sessionStorage.setItem(key, JSON.stringify(value));
        }
    } catch (e) {
        // private mode or a full quota: the page still works, unsaved
    }
}

export function load(key, dflt) {
    try {
        const v = sessionStorage.getItem(key);
        return v === null ? dflt : JSON.parse(v);
    } catch (e) {
        return dflt;
    }
}

// The claims of a JWT, for display and for keying this tab's state only:
// the server verifies the token, the page never trusts these.
export function claims(token) {
    try {
        const p = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
        const json = decodeURIComponent(Array.from(atob(p),
            (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'))
            .join(''));
        return JSON.parse(json);
    } catch (e) {
        return null;
    }
}

const TOKEN_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function fragmentParams() {
    return new URLSearchParams(location.hash.replace(/^#/, ''));
}

export function fragmentParam(name) {
    return fragmentParams().get(name);
}

// Takes a token from the fragment (and removes it from the URL), else the
// one this tab kept; calls onToken for every later postMessage hand-over.
export function setupToken(storageKey, onToken) {
    const params = fragmentParams();
    const fromHash = params.get('token');
    if (fromHash !== null) {
        params.delete('token');
        const rest = params.toString();
        history.replaceState(history.state, '',
            location.pathname + location.search + (rest ? '#' + rest : ''));
        if (TOKEN_RE.test(fromHash)) {
            store(storageKey, fromHash);
        }
    }
    const meta = document.querySelector('meta[name="kefu-embed-origins"]');
    const allowed = new Set([location.origin].concat(
        meta ? meta.content.split(/[\s,]+/).filter(Boolean) : []));
    window.addEventListener('message', (ev) => {
        const m = ev.data;
        if (!allowed.has(ev.origin) || !m || typeof m !== 'object'
            || m.type !== 'kefu:token' || typeof m.token !== 'string'
            || !TOKEN_RE.test(m.token)) {
            return;
        }
        store(storageKey, m.token);
        onToken(m.token);
    });
    return load(storageKey, null);
}

// Asks the embedding app for a (new) token.
export function askForToken(reason) {
    const msg = {type: 'kefu:need-token', reason};
    const meta = document.querySelector('meta[name="kefu-embed-origins"]');
    const origins = meta ? meta.content.split(/[\s,]+/).filter(Boolean) : [];
    if (window.parent !== window) {
        for (const o of origins) {
            window.parent.postMessage(msg, o);
        }
    }
    // Android WebView / WKWebView bridges, when the app installed one
    const rn = window.ReactNativeWebView;
    if (rn && rn.postMessage) {
        rn.postMessage(JSON.stringify(msg));
    }
    const wk = window.webkit && window.webkit.messageHandlers
        && window.webkit.messageHandlers.kefu;
    if (wk) {
        wk.postMessage(msg);
    }
}

export class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
        super(message || code || 'error ' + status);
        this.status = status;
        this.code = code;
        this.retryAfter = retryAfter;
    }
}

// One call to the API.  Network failures become status 0.
export async function api(token, method, path, body, headers) {
    const h = Object.assign({Accept: 'application/json'}, headers || {});
    if (token) {
        h.Authorization = 'Bearer ' + token;
    }
    const init = {method, headers: h, cache: 'no-store',
                  credentials: 'omit'};
    if (body !== undefined) {
        h['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
    }
    let res;
    try {
        res = await fetch(API + path.replace(/^\//, ''), init);
    } catch (e) {
        throw new ApiError(0, 'network', String(e));
    }
    if (res.status === 204) {
        return {status: 204, data: null, headers: res.headers};
    }
    let data = null;
    try {
        data = await res.json();
    } catch (e) {
        data = null;
    }
    if (!res.ok) {
        const err = data && data.error ? data.error : {};
        throw new ApiError(res.status, err.code, err.message,
                           res.headers.get('Retry-After'));
    }
    return {status: res.status, data, headers: res.headers};
}

// el('button', {class: 'x', onclick: f}, 'text', child...)
export function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === undefined || v === null || v === false) {
            continue;
        }
        if (k.startsWith('on') && typeof v === 'function') {
            e.addEventListener(k.slice(2), v);
        } else if (k === 'class') {
            e.className = v;
        } else if (k === 'dataset') {
            Object.assign(e.dataset, v);
        } else {
            e.setAttribute(k, v === true ? '' : String(v));
        }
    }
    for (const c of children.flat()) {
        if (c === undefined || c === null || c === false) {
            continue;
        }
        e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
}

export function randomKey() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function fmtTime(iso) {
    if (!iso) {
        return '';
    }
    const d = new Date(iso);
    if (isNaN(d)) {
        return iso;
    }
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} `
        + `${p(d.getHours())}:${p(d.getMinutes())}`;
}

export const STATUS_TEXT = {received: '已受理', processing: '处理中',
                            closed: '已办结'};
export const KIND_TEXT = {account: '账户', card: '银行卡', phone: '手机'};
export const REASON_TEXT = {lost: '丢失', stolen: '被盗', fraud: '被骗'};
export const PRIORITY_TEXT = {urgent: '紧急', high: '高', elevated: '较高',
                              normal: '普通'};
