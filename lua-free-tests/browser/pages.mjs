// Drives the chat page and the trainer's console in Debian's chromium
// (puppeteer-core from build/browser-npm, no browser download) against the
// nginx + Redis that lua-free-tests/t/70-browser.t started.  Prints one
// line per check, "check 1|0 <name> [detail]", and "value <name> <json>"
// for what the .t file verifies in Redis.  Never exits early on a failed
// check; a thrown error prints "fatal ...".
//
// Environment: KEFU_BASE (…/kefu/web/), KEFU_API (…/kefu/v1/), tokens
// KEFU_USER_TOKEN, KEFU_ADMIN_TOKEN, KEFU_PLAIN_TOKEN (a user of the same
// tenant), KEFU_OTHER_ADMIN (admin of another tenant), KEFU_SHOTS (dir for
// screenshots), KEFU_DOC_SHOT (the README's PNG), BROWSER_NPM, CHROMIUM.
import {createRequire} from 'node:module';
import {mkdirSync, writeFileSync, readFileSync, readdirSync}
    from 'node:fs';

const env = process.env;
const require = createRequire(env.BROWSER_NPM + '/package.json');
const puppeteer = require('puppeteer-core');

const BASE = env.KEFU_BASE;
const API = env.KEFU_API;
const SHOTS = env.KEFU_SHOTS;
const T = {user: env.KEFU_USER_TOKEN, admin: env.KEFU_ADMIN_TOKEN,
           plain: env.KEFU_PLAIN_TOKEN, other: env.KEFU_OTHER_ADMIN,
           risk: env.KEFU_RISK_TOKEN, expired: env.KEFU_EXPIRED_TOKEN};
const WAIT = 20000;   // generous: two cores shared by many jobs

function check(ok, name, detail) {
    const d = detail === undefined ? '' : ' ' + JSON.stringify(detail);
    console.log(`check ${ok ? 1 : 0} ${name}${ok ? '' : d}`);
    return ok;
}
function value(name, v) {
    console.log(`value ${name} ${JSON.stringify(v)}`);
}

async function call(token, method, path, body, headers) {
    const h = Object.assign({Authorization: 'Bearer ' + token}, headers);
    if (body !== undefined) {
        h['Content-Type'] = 'application/json';
    }
    const r = await fetch(API + path, {method, headers: h,
        body: body === undefined ? undefined : JSON.stringify(body)});
    const text = await r.text();
    return {status: r.status, json: text ? JSON.parse(text) : null};
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// polls fn until it returns a truthy value (or the deadline)
async function until(fn, ms = WAIT) {
    const end = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v || Date.now() > end) {
            return v;
        }
        await sleep(100);
    }
}

const browser = await puppeteer.launch({
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    protocolTimeout: 2 * WAIT,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu',
           '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--user-data-dir=' + env.KEFU_PROFILE,
           '--lang=zh-CN'],
});

const cspViolations = [];
const pageErrors = [];

async function open(url, w = 360, h = 640) {
    const p = await browser.newPage();
    await p.bringToFront();
    await p.setViewport({width: w, height: h});
    p.setDefaultTimeout(WAIT);
    await p.exposeFunction('__kefuCsp', (v) => cspViolations.push(v));
    await p.evaluateOnNewDocument(() => {
        document.addEventListener('securitypolicyviolation', (e) => {
            window.__kefuCsp(e.violatedDirective + ' ' + e.blockedURI);
        });
    });
    p.on('pageerror', (e) => pageErrors.push(String(e.message || e)));
    await p.goto(url, {waitUntil: 'load'});
    return p;
}

async function shot(p, name, sizes = [[360, 640], [1280, 800]]) {
    for (const [w, h] of sizes) {
        await p.setViewport({width: w, height: h});
        await sleep(150);
        await p.screenshot({path: `${SHOTS}/${name}-${w}x${h}.png`});
    }
    await p.setViewport({width: 360, height: 640});
}

// clicks the button whose text is exactly `text` (the last one: the newest)
async function clickText(p, selector, text) {
    const ok = await p.$$eval(selector, (bs, t) => {
        const b = bs.filter((x) => x.textContent.trim() === t).pop();
        if (b) {
            b.click();
        }
        return !!b;
    }, text);
    if (!ok) {
        throw new Error(`no ${selector} "${text}"`);
    }
}

// every control has an accessible name; contrast is checked by design
// (kefu.css), this catches a forgotten label
async function a11y(p, name) {
    const bad = await p.evaluate(() => {
        const out = [];
        for (const e of document.querySelectorAll(
            'input, select, textarea, button')) {
            if (e.type === 'hidden' || e.closest('[hidden]')) {
                continue;
            }
            const named = e.tagName === 'BUTTON'
                ? (e.textContent.trim() || e.getAttribute('aria-label'))
                : (e.labels && e.labels.length) || e.getAttribute('aria-label');
            if (!named) {
                out.push(e.outerHTML.slice(0, 80));
            }
        }
        return out;
    });
    check(bad.length === 0, name + ': every control has a name', bad);
}

const lastReply = (p) => p.$$eval('article.msg.bot', (as) => {
    const a = as[as.length - 1];
    return a ? {type: a.dataset.type, turn: +a.dataset.turn,
                text: a.innerText} : null;
});

async function replyCount(p) {
    return p.$$eval('article.msg.bot', (as) => as.length);
}

// sends a question through the input and waits for its reply
async function askTyped(p, q) {
    const n = await replyCount(p);
    await p.type('#q', q);
    await p.click('#send');
    await p.waitForFunction((k) =>
        document.querySelectorAll('article.msg.bot').length > k, {}, n);
    return lastReply(p);
}

async function tapAndWait(p, selector, text) {
    const n = await replyCount(p);
    await clickText(p, selector, text);
    await p.waitForFunction((k) =>
        document.querySelectorAll('article.msg.bot').length > k, {}, n);
    return lastReply(p);
}

const session = (p) => p.evaluate(() =>
    JSON.parse(sessionStorage.getItem('kefu.chat.session')));

async function chat() {
    // --- open with a scene: 猜你关心 at once, the token gone from the URL
    const p = await open(BASE + 'chat.html?scene=bill#token=' + T.user);
    await p.waitForSelector('.suggestion');
    const url = p.url();
    check(!url.includes('token') && !url.includes('#'),
          'token removed from the address bar', url);
    check(await p.evaluate(() => sessionStorage.getItem('kefu.chat.token')
          !== null), 'token kept in sessionStorage');
    const sug = await p.$$eval('.suggestion', (bs) => bs.map((b) =>
        ({faq: b.dataset.faq, reason: b.dataset.reason, q: b.textContent})));
    check(sug.length > 0 && sug[0].reason === 'scene',
          'suggestions for the scene on open', sug);
    await shot(p, 'chat-suggestions');

    // --- keyboard only: Tab reaches the skip link first, Enter on it
    // lands in the input, Enter sends; the reply: clarify, then a choice
    await p.keyboard.press('Tab');
    const first = await p.evaluate(() => document.activeElement.className);
    await p.keyboard.press('Enter');
    const inInput = await until(() => p.evaluate(() =>
        document.activeElement.id === 'q'));
    check(first === 'skip' && inInput,
          'keyboard: the skip link comes first and leads to the input',
          {first, inInput});
    await p.keyboard.type('还款');
    await p.keyboard.press('Enter');
    await p.waitForSelector('article.msg.bot');
    let r = await lastReply(p);
    check(r.type === 'clarify', 'clarify for a vague question', r);
    const choices = await p.$$eval('.choices button', (bs) => bs.length);
    check(choices >= 2, 'clarify shows its choices as buttons', choices);
    await p.click('.choices button');
    await p.waitForFunction(() => {
        const a = [...document.querySelectorAll('article.msg.bot')].pop();
        return a && a.dataset.type === 'answer';
    });
    r = await lastReply(p);
    check(r.type === 'answer' && r.turn === 2 && r.text.includes('怎么还款'),
          'a tapped choice is answered in the same session', r);
    const sid = await session(p);

    // --- follow-up in context
    r = await askTyped(p, '蚁花怎么开通');
    r = await askTyped(p, '那怎么关闭呢');
    check(r.type === 'answer' && r.text.includes('蚁花怎么关闭')
          && r.turn === 4, 'an elliptic follow-up read in context', r);
    check(await session(p) === sid, 'one session across turns');

    // --- related chip: asks by faq_id
    const rel = await p.$$eval('article.msg.bot:last-of-type .related button',
                               (bs) => bs.map((b) => b.textContent));
    if (check(rel.length > 0, 'related questions shown as chips', rel)) {
        r = await tapAndWait(p, 'article.msg.bot:last-of-type .related button',
                             rel[0]);
        check(r.type === 'answer' && r.text.includes(rel[0]),
              'a related chip is answered', {rel: rel[0], r});
    }

    // --- feedback on this answer
    await p.click('article.msg.bot:last-of-type .fb[data-helpful=true]');
    await p.waitForSelector('article.msg.bot:last-of-type '
        + '.fb[data-helpful=true][aria-pressed=true]');
    check(true, 'helpful feedback recorded on the page');
    value('feedback_turn', (await lastReply(p)).turn);
    value('session', sid);

    // --- reload: the dialogue and the session survive
    const before = await p.$$eval('.msg', (ms) => ms.length);
    await p.reload({waitUntil: 'load'});
    await p.waitForSelector('article.msg.bot');
    const after = await p.$$eval('.msg', (ms) => ms.length);
    check(after === before, 'the dialogue is shown again after a reload',
          {before, after});
    r = await askTyped(p, '那手续费呢');
    check(await session(p) === sid && r.turn === 6,
          'the session continues after a reload', r);

    // --- 503: kind message and a retry that works
    await p.setRequestInterception(true);
    let failed = 0;
    const on503 = (req) => {
        if (req.url().endsWith('/v1/ask') && req.method() === 'POST'
            && failed === 0) {
            failed++;
            req.respond({status: 503, contentType: 'application/json',
                headers: {'Retry-After': '1'},
                body: '{"error":{"code":"redis_unavailable","message":"x"}}'});
        } else {
            req.continue();
        }
    };
    p.on('request', on503);
    await p.type('#q', '怎么养猫');
    await p.click('#send');
    await p.waitForSelector('.msg.error');
    const etext = await p.$eval('.msg.error', (e) => e.innerText);
    check(etext.includes('稍后再试') && etext.includes('重试'),
          '503 shows 稍后再试 with a retry button', etext);
    await shot(p, 'chat-error', [[360, 640]]);
    p.off('request', on503);
    await p.setRequestInterception(false);
    const n = await replyCount(p);
    await p.click('.msg.error .retry');
    await p.waitForFunction((k) =>
        document.querySelectorAll('article.msg.bot').length > k, {}, n);
    r = await lastReply(p);
    check(r.type === 'fallback' && r.text.includes('转人工客服'),
          'the retry is answered: a fallback with the handoff offer', r);
    check(await p.$$eval('.msg.user', (u) => u.filter((x) =>
          x.textContent.includes('怎么养猫')).length) === 1,
          'a retried question is shown once');

    // --- emergency: 一键挂失, the first response lost on the way back
    r = await askTyped(p, '我手机丢了,怎么办');
    check(r.text.includes('一键挂失') && r.text.includes('一键报案'),
          'an emergency answer offers 一键挂失 and 一键报案', r);
    const cdp = await p.createCDPSession();
    await cdp.send('Fetch.enable', {patterns: [{urlPattern: '*/v1/loss-reports',
        requestStage: 'Response'}]});
    let cut = 0;
    const statuses = [];
    cdp.on('Fetch.requestPaused', (ev) => {
        statuses.push(ev.responseStatusCode);
        if (ev.request.method === 'POST' && cut === 0) {
            // the server made the report; the client never hears of it
            cut++;
            cdp.send('Fetch.failRequest', {requestId: ev.requestId,
                                           errorReason: 'ConnectionReset'});
        } else {
            cdp.send('Fetch.continueRequest', {requestId: ev.requestId});
        }
    });
    await clickText(p, 'article.msg.bot:last-of-type .actions button',
                    '一键挂失');
    await p.waitForSelector('dialog[open]');
    const kind = await p.$eval('input[name=kind]:checked', (e) => e.value);
    check(kind === 'phone', 'the confirmation proposes the phone', kind);
    await shot(p, 'chat-confirm', [[360, 640]]);
    await p.click('#report-confirm');
    await p.waitForSelector('.msg.error .retry');
    const pending = await p.evaluate(() =>
        JSON.parse(sessionStorage.getItem('kefu.chat.pending_report')));
    check(pending && /^[0-9a-f]{32}$/.test(pending.key),
          'the Idempotency-Key is kept while the report is unconfirmed',
          pending);
    value('idempotency_key', pending && pending.key);
    await p.click('.msg.error .retry');
    await p.waitForSelector('section.report');
    await cdp.send('Fetch.disable');
    check(JSON.stringify(statuses) === '[201,200]',
          'the lost first try made the report, the retry got its replay',
          statuses);
    const rid = await p.$eval('section.report .report-id',
                              (e) => e.textContent);
    const st = await p.$eval('section.report .status',
                             (e) => e.dataset.status);
    check(/^[0-9]{2}[0-9a-f]{32}$/.test(rid) && st === 'received',
          'the report id and status are shown', {rid, st});
    check(await p.evaluate(() =>
          sessionStorage.getItem('kefu.chat.pending_report')) === null,
          'the key is dropped once the report is confirmed');
    value('report_id', rid);
    await shot(p, 'chat-report');
    await a11y(p, 'chat page');

    // --- handoff: the queue position
    await p.click('#handoff-top');
    await p.waitForSelector('section.ticket');
    const pos = await p.$eval('section.ticket .position strong',
                              (e) => +e.textContent);
    check(pos === 1, 'handoff shows the queue position', pos);
    await shot(p, 'chat-handoff', [[360, 640]]);

    // --- 没帮助 feeds the trainer's unanswered list
    r = await askTyped(p, '怎么查看蚁花账单');
    await p.click('article.msg.bot:last-of-type .fb[data-helpful=false]');
    await p.waitForSelector('article.msg.bot:last-of-type '
        + '.fb[data-helpful=false][aria-pressed=true]');
    check(true, 'unhelpful feedback recorded on the page');
    return {page: p, reportId: rid};
}

// a trail event puts its suggestion first, on a freshly opened page
async function trail() {
    const ev = await call(T.user, 'POST', 'events',
                          {events: [{type: 'transfer_failed'}]});
    check(ev.status === 202, 'an event of the app', ev);
    const api = await call(T.user, 'GET', 'suggestions');
    // this time the app hands the token over by postMessage, when asked
    // (a stand-in for WKWebView's bridge records the request)
    const p = await open('about:blank');
    await p.evaluateOnNewDocument(() => {
        window.webkit = {messageHandlers: {kefu: {postMessage: (m) => {
            window.__asked = m;
        }}}};
    });
    await p.goto(BASE + 'chat.html', {waitUntil: 'load'});
    const asked = await until(() => p.evaluate(() => window.__asked));
    const waiting = await p.$eval('#notice', (n) => n.textContent);
    check(asked && asked.type === 'kefu:need-token'
          && waiting.includes('App'), 'without a token the page asks the app',
          {asked, waiting});
    await p.evaluate((t) => window.postMessage({type: 'kefu:token', token: t},
                                               location.origin), T.user);
    await p.waitForSelector('.suggestion');
    check(await p.evaluate(() =>
          JSON.parse(sessionStorage.getItem('kefu.chat.token'))) === T.user, 'a token handed over by postMessage is used and kept');
    const first = await p.$eval('.suggestion', (b) =>
        ({faq: b.dataset.faq, reason: b.dataset.reason}));
    check(first.reason === 'event' && first.faq === api.json.items[0].faq_id,
          "the trail's suggestion comes first", {first, api: api.json.items[0]});
    const before = await replyCount(p);
    await p.click('.suggestion');
    await p.waitForFunction((k) =>
        document.querySelectorAll('article.msg.bot').length > k, {}, before);
    const r = await lastReply(p);
    check(r.type === 'answer' && r.text.includes(api.json.items[0].question),
          'a tapped suggestion is answered by faq_id', r);
    await p.close();
}

async function dashboardMatches(p, token) {
    return until(async () => {
        const s = await call(token, 'GET', 'admin/stats?days=7&top=10');
        await p.click('#stats-refresh');
        await sleep(300);
        const kpis = await p.$$eval('.kpi', (ks) => Object.fromEntries(
            ks.map((k) => [k.dataset.key, Number(k.dataset.value)])));
        const same = Object.keys(kpis).length === 11
            && Object.entries(kpis).every(([k, v]) => s.json.total[k] === v);
        return same ? {kpis, total: s.json.total} : null;
    });
}

async function console_(chatPage, reportId) {
    const p = await open(BASE + 'console.html#token=' + T.admin, 1280, 800);
    await p.waitForSelector('.kpi');
    check(!p.url().includes('token'), 'console: token removed from the URL');
    check(await p.evaluate(() => window.echarts && window.echarts.version)
          === JSON.parse(readFileSync(env.KEFU_WEB + '/package.json'))
              .dependencies.echarts, 'the pinned ECharts is served');
    const m = await dashboardMatches(p, T.admin);
    check(!!m, "the dashboard's numbers equal /v1/admin/stats", m);
    check(await p.$$eval('#chart-daily canvas, #chart-rate canvas',
                         (c) => c.length) >= 2, 'two charts drawn');
    // a tooltip (drawn on the canvas: no inline style for the CSP check)
    const box = await (await p.$('#chart-daily')).boundingBox();
    await p.mouse.move(box.x + box.width - 60, box.y + box.height / 2);
    await sleep(200);
    const unans = await until(async () => {
        await p.click('#stats-refresh');
        await sleep(300);
        const u = await p.$$eval('#top-unanswered tbody td.q',
                                 (t) => t.map((x) => x.textContent));
        return u.some((q) => q.includes('养猫')) ? u : null;
    });
    check(!!unans, 'the unanswered list shows the question the test asked',
          unans);
    await shot(p, 'console-dashboard');

    // test console
    await p.click('#tab-search');
    await p.type('#search-q', '花呗怎么还款');
    await p.click('#search-form button[type=submit]');
    await p.waitForSelector('.hit .term');
    const hits = await p.$$eval('.hit', (hs) => hs.map((h) => ({
        faq: h.dataset.faq,
        terms: [...h.querySelectorAll('.term')].map((t) => t.textContent),
        marks: [...h.querySelectorAll('.hit-q mark')].map((t) => t.textContent),
        score: h.querySelector('.score').textContent})));
    const api = await call(T.admin, 'POST', 'admin/search',
                           {question: '花呗怎么还款', k: 5});
    check(hits.length === api.json.items.length
          && hits.every((h, i) => h.faq === api.json.items[i].faq_id
              && JSON.stringify(h.terms)
                 === JSON.stringify(api.json.items[i].matched)),
          'the test console shows the top-k with their matched terms',
          {hits, api: api.json.items});
    check(hits.length > 0 && hits[0].marks.join('').length > 0,
          'matched terms highlighted in the question', hits[0]);
    await shot(p, 'console-search');
    await a11y(p, 'test console');

    // back office: 21 received reports (20 made by the .t file first):
    // the user's is the newest, first on page 1; page 2 holds the oldest
    await p.click('#tab-reports');
    await p.waitForSelector('#reports tbody tr');
    const rows = () => p.$$eval('#reports tbody tr', (rs) =>
        rs.map((r) => r.dataset.id));
    const page1 = await rows();
    check(page1.length === 20 && page1[0] === reportId,
          'reports listed newest first, 20 a page', page1);
    const api1 = await call(T.admin, 'GET',
                            'admin/loss-reports?status=received&limit=20');
    check(JSON.stringify(api1.json.items.map((x) => x.id))
          === JSON.stringify(page1), 'the page is the API\'s first page');
    await shot(p, 'console-reports');
    await p.click('#reports-next');
    await p.waitForFunction((id) => {
        const r = document.querySelector('#reports tbody tr');
        return r && r.dataset.id !== id;
    }, {}, page1[0]);
    const page2 = await rows();
    check(page2.length === 1 && !page1.includes(page2[0])
          && await p.$eval('#reports-next', (b) => b.disabled),
          'the next page holds the rest, and is the last', page2);
    await p.click('#reports-prev');
    await p.waitForFunction((id) => {
        const r = document.querySelector('#reports tbody tr');
        return r && r.dataset.id === id;
    }, {}, reportId);
    await p.$eval(`#reports tr[data-id="${reportId}"] button`,
                  (b) => b.click());
    await p.waitForSelector('dialog#report-detail[open]');
    await p.click('#detail-processing');
    await p.waitForFunction(() => document.getElementById('detail-status')
        && document.getElementById('detail-status').textContent === '处理中');
    check(true, 'the back office moves the report to processing');
    await shot(p, 'console-report-detail', [[1280, 800]]);
    await a11y(p, 'report detail');
    await p.click('#detail-dismiss');
    // the user's page shows the new status (a background tab runs no
    // animation frames, which a click waits for: bring it to the front)
    await chatPage.bringToFront();
    // (becoming visible refreshes the card too: click inside the page,
    // where the button is always the current one)
    await chatPage.$eval('section.report .refresh', (b) => b.click());
    const st = await until(() => chatPage.$eval('section.report .status',
        (e) => e.dataset.status === 'processing' ? e.textContent : null));
    check(st === '处理中', "the user's page shows the new status", st);

    // the agent queue: the ticket with its turns; close it
    await p.bringToFront();
    await p.click('#tab-queue');
    const tk = await until(() => p.$$eval('#queue .ticket', (ts) =>
        ts.map((t) => ({id: t.dataset.id,
                        turns: t.querySelectorAll('.turns li').length}))
          .filter((t) => t.turns > 0)[0]));
    check(!!tk, 'the handoff ticket is in the queue with its turns', tk);
    await shot(p, 'console-queue');
    if (tk) {
        await p.$eval(`#queue .ticket[data-id="${tk.id}"] button.danger`,
                      (b) => b.click());
        const gone = await until(() => p.$$eval('#queue .ticket',
            (ts, id) => !ts.some((t) => t.dataset.id === id), tk.id));
        check(gone, 'a closed ticket leaves the queue');
        value('ticket_id', tk.id);
    }
    return p;
}

// 知识学习: a question the robot could not answer is proposed with its
// likely FAQs; 采纳 makes it a similar question of one (the user gets that
// answer within a few seconds); 忽略 removes another proposal; the learned
// list shows the entry, 导出知识库 saves the merged KB, 删除 removes it
async function learn() {
    // a question that falls back but has FAQs it may belong to
    let q = null;
    for (const c of ['我的蚁花怎么突然用不了了呢啊', '蚁花用不了是什么原因呀',
                     '花呗今天天气如何', '额度为什么变成零了呢']) {
        const s = await call(T.admin, 'POST', 'admin/search',
                             {question: c, k: 3});
        if (s.json.decision === 'fallback' && s.json.items.length >= 1) {
            q = c;
            break;
        }
    }
    if (!check(!!q, 'learn: an unanswered question with candidate FAQs')) {
        return;
    }
    const a0 = await call(T.plain, 'POST', 'ask', {question: q});
    check(a0.json.type === 'fallback', 'learn: the user is not answered',
          a0.json);

    const p = await open(BASE + 'console.html#token=' + T.admin, 1280, 800);
    await p.waitForSelector('.kpi');
    await p.click('#tab-learn');
    // the proposals come from the stats the workers flush: wait for them
    const card = await until(async () => {
        await p.click('#sugg-refresh');
        await sleep(300);
        return p.$$eval('#suggestions > li', (ls, q) => {
            const l = ls.find((x) => x.dataset.q === q);
            return l ? {faqs: [...l.querySelectorAll('.sugg-faq')].map((f) =>
                ({faq: f.dataset.faq, score: f.querySelector('.score')
                    .textContent})), users: l.querySelector('.users')
                    .textContent, source: l.dataset.source} : null;
        }, q);
    });
    const api = await call(T.admin, 'GET', 'admin/kb/suggestions?days=7&top=20');
    const ai = api.json.items.find((x) => x.question === q);
    check(!!card && !!ai && card.source === 'unanswered'
          && card.faqs.length === ai.faqs.length && card.faqs.length >= 1
          && card.faqs.every((f, i) => f.faq === ai.faqs[i].faq_id
              && f.score === ai.faqs[i].score.toFixed(4))
          && card.users.includes(String(ai.users)),
          'learn: the question is proposed with its FAQs, scores and users',
          {card, ai});
    check(JSON.stringify([...new Set(api.json.items.map((x) =>
          x.source === 'implicit'))]) !== '[false,true]',
          'learn: implicit pairs come first in the API order');
    await shot(p, 'console-learn');
    await a11y(p, 'learn tab');
    if (!card) {
        await p.close();
        return;
    }

    // keyboard: the first 采纳 of the card is reachable and pressed by Enter
    const faq = card.faqs[0].faq;
    const sel = `#suggestions > li[data-q="${q}"] .sugg-faq[data-faq="${faq}"]`
        + ' button.adopt';
    await p.focus(sel);
    await p.keyboard.press('Enter');
    await p.waitForFunction((q) => ![...document.querySelectorAll(
        '#suggestions > li')].some((l) => l.dataset.q === q), {}, q);
    const status = await p.$eval('#learn-status', (e) => e.textContent);
    check(status.includes('已采纳'), 'learn: 采纳 removes the proposal', status);
    const answered = await until(async () => {
        const a = await call(T.plain, 'POST', 'ask', {question: q});
        return a.json.type === 'answer' && a.json.faq_id === faq
            ? a.json : null;
    });
    check(!!answered, "learn: the user now gets the adopted FAQ's answer",
          {q, faq});

    // 采纳 of a wording the KB already has (the chat page's 没帮助 question
    // is an FAQ's own question): 409, explained in its card, which stays
    const dupQ = '怎么查看蚁花账单';
    const dupSel = `#suggestions > li[data-q="${dupQ}"]`;
    if (check(!!await p.$(dupSel), 'learn: the 没帮助 question is proposed')) {
        await p.$eval(dupSel + ' button.adopt', (b) => b.click());
        await p.waitForSelector(dupSel + ' .sugg-msg:not([hidden])');
        const m = await p.$eval(dupSel + ' .sugg-msg', (e) => e.textContent);
        check(m.includes('已经有这个问法'),
              'learn: a duplicate (409) is explained in its card', m);
    }

    // 忽略 another proposal: it leaves the list and does not come back
    const other = await p.$$eval('#suggestions > li', (ls, d) =>
        ls.map((l) => l.dataset.q).find((x) => x === d) || ls.map((l) =>
            l.dataset.q)[0], dupQ);
    if (check(!!other, 'learn: another proposal to dismiss')) {
        await p.$eval(`#suggestions > li[data-q="${other}"] button.dismiss`,
                      (b) => b.click());
        await p.waitForFunction((o) => ![...document.querySelectorAll(
            '#suggestions > li')].some((l) => l.dataset.q === o), {}, other);
        await p.click('#sugg-refresh');
        await sleep(500);
        const again = await call(T.admin, 'GET',
                                 'admin/kb/suggestions?days=7&top=50');
        const still = await p.$$eval('#suggestions > li', (ls) =>
            ls.map((l) => l.dataset.q));
        check(!again.json.items.some((x) => x.question === other)
              && !still.includes(other),
              'learn: a dismissed proposal stays gone', {other, still});
    }

    // the learned list shows the entry
    await p.click('#learned-refresh');
    const row = await until(() => p.$$eval('#learned tbody tr', (rs, q) => {
        const r = rs.find((x) => x.querySelector('.q').textContent === q);
        return r ? {id: r.dataset.id, faq: r.dataset.faq} : null;
    }, q));
    check(!!row && row.faq === faq, 'learn: the learned list shows it', row);

    // 导出知识库: a file with the learned question merged
    const dl = env.KEFU_PROFILE + '-downloads';
    mkdirSync(dl, {recursive: true});
    const cdp = await p.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', {behavior: 'allow',
                                                   downloadPath: dl});
    await p.click('#kb-export');
    const file = await until(() => {
        const f = readdirSync(dl).filter((x) => x.endsWith('.json'));
        return f.length ? f[0] : null;
    });
    let merged = false;
    if (file) {
        const kb = JSON.parse(readFileSync(dl + '/' + file));
        const e = kb.faqs.find((x) => x.id === faq || x.faq_id === faq);
        merged = !!e && JSON.stringify(e).includes(q);
    }
    check(merged && /^kb-demo-\d{4}-\d\d-\d\d\.json$/.test(file || ''),
          'learn: 导出知识库 saves the KB with the learned question', file);
    const urls = [];
    p.on('request', (r) => urls.push(r.url()));

    // 删除
    if (row) {
        // as a trainer would: when the page says the service was busy
        // (503 on a loaded machine), click again; the status is checked
        let gone = false;
        let status = '';
        for (let i = 0; i < 3 && !gone; i++) {
            await p.$eval(`#learned tr[data-id="${row.id}"] button`,
                          (b) => b.click());
            const seen = await until(() => p.evaluate((id) => {
                if (!document.querySelector(`#learned tr[data-id="${id}"]`)) {
                    return 'gone';
                }
                const b = document.querySelector(
                    `#learned tr[data-id="${id}"] button`);
                return b.disabled ? null
                    : document.getElementById('learn-status').textContent
                      || null;
            }, row.id));
            gone = seen === 'gone';
            status = seen;
            if (!gone && !/稍后再试/.test(seen || '')) {
                break;
            }
        }
        check(gone, 'learn: 删除 takes the row away', status);
        const l = await call(T.admin, 'GET', 'admin/kb/similar?limit=100');
        check(!l.json.items.some((x) => x.id === row.id),
              'learn: 删除 removes the learned question', l.json);
    }
    check(!urls.some((u) => u.includes(T.admin)),
          'learn: the token never goes into a URL');
    await p.close();
}

// a risk pattern in the trail: 猜你关心 warns and offers 一键挂失 at once;
// an expired token: a kind message, and the app is asked for a new one
async function riskAndExpiry() {
    const now = Math.floor(Date.now() / 1000);
    const ev = await call(T.risk, 'POST', 'events', {events: [
        {type: 'login_new_device', ts: now - 60}, {type: 'transfer_large'}]});
    check(ev.status === 202, 'risk events of the app', ev);
    let p = await open(BASE + 'chat.html#token=' + T.risk);
    await p.waitForSelector('.suggest .risk');
    const acts = await p.$$eval('.suggest .actions button',
                                (bs) => bs.map((b) => b.textContent));
    check(acts.includes('一键挂失') || acts.includes('一键报案'),
          '猜你关心 warns of the risk with its emergency buttons', acts);
    await shot(p, 'chat-risk', [[360, 640]]);
    await p.close();

    p = await open('about:blank');
    await p.evaluateOnNewDocument(() => {
        window.webkit = {messageHandlers: {kefu: {postMessage: (m) => {
            window.__asked = m;
        }}}};
    });
    await p.goto(BASE + 'chat.html#token=' + T.expired, {waitUntil: 'load'});
    await p.waitForSelector('.msg.error');
    const text = await p.$eval('.msg.error', (e) => e.innerText);
    const asked = await p.evaluate(() => window.__asked);
    check(text.includes('登录已过期') && asked && asked.reason === 'expired',
          'an expired token: 登录已过期, and the app is asked for a new one',
          {text, asked});
    await p.close();
}

// a user token: 403 shown, nothing of the tenant's data on the page
async function forbidden() {
    const p = await open(BASE + 'console.html#token=' + T.plain, 1280, 800);
    await p.waitForSelector('#alert:not([hidden])');
    const text = await p.$eval('#alert', (a) => a.textContent);
    const data = await p.evaluate(() => ({
        kpis: document.querySelectorAll('.kpi').length,
        rows: document.querySelectorAll('tbody tr').length,
        visible: [...document.querySelectorAll('.view')]
            .filter((v) => !v.hidden).length,
        stored: sessionStorage.getItem('kefu.console.token')}));
    check(text.includes('403') && data.kpis === 0 && data.rows === 0
          && data.visible === 0 && data.stored === null,
          'a user token sees 403 and no data', {text, data});
    await shot(p, 'console-forbidden');
    await p.close();
}

// the console of another tenant shows none of this tenant's data
async function otherTenant(reportId) {
    const p = await open(BASE + 'console.html#token=' + T.other, 1280, 800);
    await p.waitForSelector('.kpi');
    const m = await dashboardMatches(p, T.other);
    check(!!m && m.kpis.asked === 0, "tenant B's dashboard is its own", m);
    const u = await p.$$eval('#top-unanswered tbody td.q',
                             (t) => t.map((x) => x.textContent));
    check(!u.some((q) => q.includes('养猫')),
          "tenant B does not see tenant A's unanswered questions", u);
    await p.click('#tab-reports');
    await sleep(500);
    const rows = await p.$$eval('#reports tbody tr', (r) => r.length);
    await p.type('#report-id', reportId);
    await p.click('#report-find button');
    await p.waitForSelector('#alert:not([hidden])');
    const a = await p.$eval('#alert', (x) => x.textContent);
    check(rows === 0 && a.includes('404'),
          "tenant B cannot list or open tenant A's report", {rows, a});
    await p.close();
}

// one picture for the README: the phone chat next to the desktop console
async function docShot() {
    const img = (f) => 'data:image/png;base64,'
        + readFileSync(`${SHOTS}/${f}`).toString('base64');
    const p = await browser.newPage();
    await p.setViewport({width: 1680, height: 820});
    await p.setContent(`<body style="margin:0;background:#dfe3ea;display:flex;
        gap:20px;padding:10px 20px;align-items:flex-start">
        <img style="width:360px;border-radius:12px;box-shadow:0 2px 8px #0003"
             src="${img('chat-report-360x640.png')}">
        <img style="width:1260px;border-radius:8px;box-shadow:0 2px 8px #0003"
             src="${img('console-dashboard-1280x800.png')}"></body>`);
    await p.screenshot({path: env.KEFU_DOC_SHOT});
    await p.close();
}

try {
    mkdirSync(SHOTS, {recursive: true});
    const {page, reportId} = await chat();
    await trail();
    await riskAndExpiry();
    await console_(page, reportId);
    await learn();
    await forbidden();
    await otherTenant(reportId);
    // every page kept to the CSP, and none threw
    check(cspViolations.length === 0, 'no Content-Security-Policy violation',
          cspViolations);
    check(pageErrors.length === 0, 'no uncaught error in the pages',
          pageErrors);
    if (env.KEFU_DOC_SHOT) {
        await docShot();
    }
} catch (e) {
    console.log('fatal ' + JSON.stringify(String(e && e.stack || e)));
} finally {
    await browser.close();
}
