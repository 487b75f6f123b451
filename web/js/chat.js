// The H5 chat page ("我的客服"): 猜你关心, questions with multi-turn
// context, clarify choices, 一键挂失/一键报案, feedback and handoff.
import {api, ApiError, askForToken, claims, el, fmtTime, fragmentParam,
        load, randomKey, setupToken, store, KIND_TEXT, REASON_TEXT,
        STATUS_TEXT, PRIORITY_TEXT} from './common.js';

const K = {
    token: 'kefu.chat.token',
    user: 'kefu.chat.user',
    session: 'kefu.chat.session',
    log: 'kefu.chat.log',
    reports: 'kefu.chat.reports',
    pending: 'kefu.chat.pending_report',
    feedback: 'kefu.chat.feedback',
};
const LOG_MAX = 60;
const REFRESH_MS = 15000;
const SCENE_RE = /^[a-z0-9_.:-]{1,32}$/;

const $ = (id) => document.getElementById(id);
const logEl = $('log');
const input = $('q');

let token = null;
let busy = false;
let items = [];            // the transcript, kept in sessionStorage
let reports = {};          // id -> report as the API returned it
let feedback = {};         // "session:turn" -> true/false

const scene = (() => {
    const s = new URLSearchParams(location.search).get('scene')
        || fragmentParam('scene');
    return s && SCENE_RE.test(s) ? s : null;
})();

// --- state -----------------------------------------------------------

function save() {
    store(K.log, items.slice(-LOG_MAX));
    store(K.reports, reports);
    store(K.feedback, feedback);
}

function push(item) {
    items.push(item);
    save();
    const node = render(item);
    if (node) {
        logEl.append(node);
        scrollDown();
    }
    return node;
}

function scrollDown() {
    logEl.scrollTop = logEl.scrollHeight;
}

// a new user in this tab (another token's subject) starts from scratch
function adoptToken(t) {
    token = t;
    const c = claims(t) || {};
    const who = (c.tid || '') + ':' + (c.sub || '');
    if (load(K.user, null) !== who) {
        for (const k of [K.session, K.log, K.reports, K.pending,
                         K.feedback]) {
            store(k, null);
        }
        store(K.user, who);
        items = [];
        reports = {};
        feedback = {};
        logEl.replaceChildren();
        return true;
    }
    return false;
}

// --- notices and errors -----------------------------------------------

function notice(text, action) {
    const n = $('notice');
    n.replaceChildren(el('span', {}, text));
    if (action) {
        n.append(action);
    }
    n.hidden = !text;
}

function kindError(err, what) {
    switch (err.status) {
    case 0:
        return '网络连接异常,请检查网络后重试';
    case 503:
        return '客服系统繁忙,请稍后再试';
    case 429:
        if (err.code === 'too_many_reports') {
            return '今天的挂失次数已达上限,如需帮助请转人工或拨打客服热线';
        }
        if (err.code === 'too_many_tickets') {
            return '你已有工单在排队,请耐心等待人工客服';
        }
        return '操作太频繁了,请稍后再试';
    case 401:
        return '登录已过期,请返回 App 重新进入客服';
    case 403:
        return '没有权限进行此操作';
    case 404:
        return what === 'report' ? '没有找到这张挂失单'
            : '对话已过期,请重新提问';
    case 413:
        return '内容太长了,请精简后再发';
    case 400:
    case 422:
        return '内容无法识别,请换个说法';
    default:
        return '出了点问题,请稍后再试';
    }
}

// a limit of the tenant (reports a day, tickets waiting) is no reason to
// try again; nginx's own rate limit (429 rate_limited) is
function retryable(err) {
    if (err.code === 'too_many_reports' || err.code === 'too_many_tickets') {
        return false;
    }
    return err.status === 0 || err.status === 429 || err.status >= 500;
}

function onAuthError(err) {
    if (err.status === 401) {
        askForToken('expired');
        notice('登录已过期,正在重新获取登录信息…');
    }
}

// an error bubble; retry() runs again what failed
function errorBubble(err, what, retry) {
    onAuthError(err);
    const b = el('div', {class: 'msg bot error', role: 'alert'},
        el('p', {}, kindError(err, what)));
    if (retry && retryable(err)) {
        b.append(el('button', {type: 'button', class: 'chip retry',
            onclick: () => { b.remove(); retry(); }}, '重试'));
    }
    logEl.append(b);
    scrollDown();
    return b;
}

function typing() {
    const t = el('div', {class: 'msg bot typing', role: 'status',
                         'aria-label': '客服正在输入'},
        el('span', {class: 'dot'}), el('span', {class: 'dot'}),
        el('span', {class: 'dot'}));
    logEl.append(t);
    scrollDown();
    return t;
}

function setBusy(b) {
    busy = b;
    $('send').disabled = b;
    logEl.setAttribute('aria-busy', b ? 'true' : 'false');
}

// --- asking ------------------------------------------------------------

// payload: {question} | {faq_id} | {choice}; shown: the user's bubble
async function ask(payload, shown, opts) {
    if (busy || !token) {
        return null;
    }
    opts = opts || {};
    if (!opts.retry) {
        push({kind: 'user', text: shown});
    }
    const body = Object.assign({}, payload);
    const sid = load(K.session, null);
    if (sid) {
        body.session_id = sid;
    }
    if (scene) {
        body.scene = scene;
    }
    setBusy(true);
    const t = typing();
    try {
        const r = await api(token, 'POST', 'ask', body);
        t.remove();
        store(K.session, r.data.session_id);
        push({kind: 'bot', reply: r.data});
        if (r.data.type === 'handoff') {
            setBusy(false);
            await handoff();
        }
        return r.data;
    } catch (err) {
        t.remove();
        if (!(err instanceof ApiError)) {
            throw err;
        }
        errorBubble(err, 'ask', () => ask(payload, shown, {retry: true}));
        return null;
    } finally {
        setBusy(false);
    }
}

function chip(text, onclick, cls) {
    return el('button', {type: 'button', class: 'chip' + (cls ? ' ' + cls
        : ''), onclick}, text);
}

function askFaq(ref) {
    return ask({faq_id: ref.faq_id}, ref.question);
}

// --- rendering -----------------------------------------------------------

function render(item) {
    switch (item.kind) {
    case 'user':
        return el('div', {class: 'msg user'},
            el('span', {class: 'sr-only'}, '我:'), el('p', {}, item.text));
    case 'bot':
        return renderReply(item.reply);
    case 'suggest':
        return renderSuggestions(item.data);
    case 'report':
        return renderReport(item.id);
    case 'handoff':
        return renderHandoff(item.data);
    case 'info':
        return el('div', {class: 'msg bot'}, el('p', {}, item.text));
    default:
        return null;
    }
}

function actionButtons(actions, faqId) {
    const out = [];
    const types = new Set((actions || []).map((a) => a.type));
    if (types.has('loss_report')) {
        out.push(chip('一键挂失', () => openReport('loss_report', faqId),
                      'danger'));
    }
    if (types.has('police_report')) {
        out.push(chip('一键报案', () => openReport('police_report', faqId),
                      'danger'));
    }
    if (types.has('handoff')) {
        out.push(chip('转人工', () => handoff(), 'primary'));
    }
    return out.length ? el('div', {class: 'actions', role: 'group',
                                   'aria-label': '快捷操作'}, out) : null;
}

function renderReply(r) {
    const m = el('article', {class: 'msg bot', dataset: {type: r.type,
        turn: r.turn}, 'aria-label': '客服回复'});
    m.append(el('span', {class: 'sr-only'}, '客服:'));
    if (r.type === 'answer' && r.question) {
        m.append(el('h2', {class: 'faq-q'}, r.question));
    }
    m.append(el('p', {class: 'text'}, r.text));
    if (r.type === 'clarify' && r.choices && r.choices.length) {
        m.append(el('div', {class: 'choices', role: 'group',
                            'aria-label': '请选择你想问的问题'},
            r.choices.map((c, i) => chip(`${i + 1}. ${c.question}`,
                () => ask({choice: c.faq_id}, c.question), 'choice'))));
    }
    const acts = actionButtons(r.actions, r.faq_id);
    if (acts) {
        m.append(acts);
    } else if (r.type === 'fallback' || r.handoff_suggested) {
        m.append(el('div', {class: 'actions offer'},
            el('span', {}, '没能解决?'),
            chip('转人工客服', () => handoff(), 'primary')));
    }
    if (r.related && r.related.length) {
        m.append(el('div', {class: 'related', role: 'group',
                            'aria-label': '相关问题'},
            el('span', {class: 'label'}, '相关问题'),
            r.related.map((q) => chip(q.question, () => askFaq(q)))));
    }
    if (r.type === 'answer' && r.turn > 0) {
        m.append(renderFeedback(r.session_id, r.turn));
    }
    return m;
}

function renderFeedback(sid, turn) {
    const key = sid + ':' + turn;
    const box = el('div', {class: 'feedback', role: 'group',
                           'aria-label': '这个回答有帮助吗'});
    const note = el('span', {class: 'fb-note', 'aria-live': 'polite'});
    const mk = (helpful, text) => el('button', {type: 'button',
        class: 'fb', 'aria-pressed': String(feedback[key] === helpful),
        dataset: {helpful: String(helpful)},
        onclick: async (ev) => {
            const btn = ev.currentTarget;
            try {
                await api(token, 'POST', 'feedback',
                          {session_id: sid, turn, helpful});
            } catch (err) {
                onAuthError(err);
                note.textContent = kindError(err, 'feedback');
                return;
            }
            feedback[key] = helpful;
            save();
            for (const b of box.querySelectorAll('button.fb')) {
                b.setAttribute('aria-pressed', String(b === btn));
            }
            note.textContent = helpful ? '感谢你的反馈!'
                : '抱歉没能帮到你,我们会改进。';
            if (!helpful && !box.querySelector('.primary')) {
                box.append(chip('转人工客服', () => handoff(), 'primary'));
            }
        }}, text);
    box.append(el('span', {class: 'label'}, '这个回答有帮助吗?'),
               mk(true, '有帮助'), mk(false, '没帮助'), note);
    return box;
}

function renderSuggestions(d) {
    const box = el('section', {class: 'msg bot suggest',
                               'aria-labelledby': 'suggest-title'});
    box.append(el('h2', {id: 'suggest-title'}, '猜你关心'));
    if (d.risk) {
        box.append(el('p', {class: 'risk', role: 'alert'},
            '检测到你的账户可能存在风险,如有异常请立即处理。'));
    }
    box.append(el('ul', {class: 'suggestions'}, d.items.map((s) =>
        el('li', {}, el('button', {type: 'button', class: 'suggestion',
            dataset: {faq: s.faq_id, reason: s.reason && s.reason.type},
            onclick: () => askFaq(s)}, s.question)))));
    const acts = d.risk ? actionButtons(d.actions, null) : null;
    if (acts) {
        box.append(acts);
    }
    return box;
}

async function loadSuggestions() {
    const q = scene ? '?scene=' + encodeURIComponent(scene) : '';
    const t = typing();
    try {
        const r = await api(token, 'GET', 'suggestions' + q);
        t.remove();
        push({kind: 'info', text: '你好,我是智能客服小蚁,有什么可以帮你?'});
        if (r.data.items.length) {
            push({kind: 'suggest', data: r.data});
        }
    } catch (err) {
        t.remove();
        errorBubble(err, 'suggest', loadSuggestions);
    }
}

// --- handoff -------------------------------------------------------------

async function handoff() {
    if (busy || !token) {
        return;
    }
    let sid = load(K.session, null);
    if (!sid) {
        // the queue takes a dialogue: open one by asking for a human
        const r = await ask({question: '转人工'}, '转人工');
        if (!r || r.type === 'handoff') {
            return;   // failed, or ask() queued it already
        }
        sid = r.session_id;
    }
    setBusy(true);
    const t = typing();
    try {
        const r = await api(token, 'POST', 'handoff', {session_id: sid});
        t.remove();
        const old = items.find((i) => i.kind === 'handoff'
            && i.data.ticket_id === r.data.ticket_id);
        if (old) {
            old.data = r.data;
            save();
            const n = document.getElementById('ticket-' + r.data.ticket_id);
            if (n) {
                n.replaceWith(renderHandoff(r.data));
            }
        } else {
            push({kind: 'handoff', data: r.data});
        }
    } catch (err) {
        t.remove();
        if (err.status === 404) {
            store(K.session, null);
        }
        errorBubble(err, 'handoff', handoff);
    } finally {
        setBusy(false);
    }
}

function renderHandoff(h) {
    return el('section', {class: 'msg bot card ticket',
                          id: 'ticket-' + h.ticket_id,
                          'aria-label': '人工客服排队'},
        el('h2', {}, '已为你转接人工客服'),
        el('p', {class: 'position'}, '当前排队:第 ',
           el('strong', {}, String(h.position)), ' 位'),
        h.priority === 'urgent' ? el('p', {class: 'hint'},
            '紧急情况已优先接入,请保持页面打开。') : null,
        el('div', {class: 'actions'},
           chip('刷新排队', () => handoff())));
}

// --- loss reports ------------------------------------------------------------

function guessReport(type, faqId) {
    const f = faqId || '';
    const kind = /phone/.test(f) ? 'phone' : /card/.test(f) ? 'card'
        : 'account';
    let reason = 'lost';
    if (/fraud|scam|fake/.test(f)) {
        reason = 'fraud';
    } else if (type === 'police_report'
               || /stolen|hacked|unknown|password|theft/.test(f)) {
        reason = 'stolen';
    }
    return {kind, reason, police_report: type === 'police_report'};
}

function openReport(type, faqId) {
    const dlg = $('report-dialog');
    const form = $('report-form');
    const pending = load(K.pending, null);
    const b = pending ? pending.body : guessReport(type, faqId);
    form.reset();
    form.elements.kind.value = b.kind;
    form.elements.reason.value = b.reason;
    form.elements.police_report.checked = !!b.police_report;
    form.elements.card_last4.value = b.card_last4 || '';
    form.elements.note.value = b.note || '';
    for (const e of form.querySelectorAll('input, textarea')) {
        e.disabled = !!pending;
    }
    $('card-row').hidden = b.kind !== 'card';
    $('report-title').textContent = pending ? '重新提交挂失'
        : type === 'police_report' ? '确认一键报案' : '确认一键挂失';
    $('report-hint').textContent = pending
        ? '上次提交还没有得到确认,将按原内容重新提交,不会重复挂失。'
        : '提交后账户将立即冻结,他人无法用你的账户付款或转账。';
    $('report-error').hidden = true;
    dlg.showModal();
}

function reportBody(form) {
    const f = form.elements;
    const body = {kind: f.kind.value, reason: f.reason.value,
                  police_report: f.police_report.checked};
    if (body.kind === 'card') {
        body.card_last4 = f.card_last4.value.trim();
    }
    const note = f.note.value.trim();
    if (note) {
        body.note = note;
    }
    return body;
}

// Sends the report waiting for confirmation with its Idempotency-Key:
// however often this runs (retries, reloads), the server makes one report.
async function submitPending() {
    const pending = load(K.pending, null);
    if (!pending || busy) {
        return;
    }
    notice('');
    setBusy(true);
    const t = typing();
    try {
        const r = await api(token, 'POST', 'loss-reports', pending.body,
                            {'Idempotency-Key': pending.key});
        t.remove();
        store(K.pending, null);
        reports[r.data.id] = r.data;
        push({kind: 'report', id: r.data.id});
    } catch (err) {
        t.remove();
        if (!retryable(err) && err.status !== 401) {
            store(K.pending, null);   // refused: nothing was made
        }
        const b = errorBubble(err, 'report', submitPending);
        if (retryable(err)) {
            b.querySelector('p').textContent =
                '挂失还没有提交成功:' + kindError(err)
                + '。点“重试”不会重复挂失。';
        }
    } finally {
        setBusy(false);
    }
}

function renderReport(id) {
    const r = reports[id];
    if (!r) {
        return null;
    }
    const title = r.police_report ? '挂失并报案已受理' : '挂失已受理';
    return el('section', {class: 'msg bot card report', id: 'report-' + id,
                          'aria-label': '挂失单'},
        el('h2', {}, title),
        el('dl', {},
           el('dt', {}, '单号'), el('dd', {class: 'report-id'}, r.id),
           el('dt', {}, '对象'), el('dd', {}, KIND_TEXT[r.kind] || r.kind,
               r.card_last4 ? ` (尾号 ${r.card_last4})` : ''),
           el('dt', {}, '原因'), el('dd', {}, REASON_TEXT[r.reason]
               || r.reason),
           el('dt', {}, '状态'), el('dd', {class: 'status',
               dataset: {status: r.status}, 'aria-live': 'polite'},
               STATUS_TEXT[r.status] || r.status),
           el('dt', {}, '账户'), el('dd', {class: 'frozen'},
               r.frozen ? '已冻结' : '未冻结'),
           el('dt', {}, '更新'), el('dd', {}, fmtTime(r.updated_at))),
        el('div', {class: 'actions'},
           chip('刷新状态', () => refreshReport(id), 'refresh')));
}

async function refreshReport(id) {
    try {
        const r = await api(token, 'GET', 'loss-reports/' + id);
        reports[id] = r.data;
        save();
        const n = document.getElementById('report-' + id);
        if (n) {
            n.replaceWith(renderReport(id));
        }
    } catch (err) {
        onAuthError(err);
    }
}

function refreshOpenReports() {
    if (!token || document.hidden) {
        return;
    }
    for (const id of Object.keys(reports)) {
        if (reports[id].status !== 'closed') {
            refreshReport(id);
        }
    }
}

function showPending() {
    if (load(K.pending, null)) {
        notice('你有一份挂失还没有提交成功。',
               el('button', {type: 'button', class: 'chip danger',
                             onclick: submitPending}, '重新提交'));
    }
}

// --- start -----------------------------------------------------------------

function wire() {
    $('ask').addEventListener('submit', (ev) => {
        ev.preventDefault();
        const q = input.value.trim();
        if (!q || busy) {
            return;
        }
        input.value = '';
        ask({question: q}, q).then(() => input.focus());
    });
    $('handoff-top').addEventListener('click', () => handoff());
    const form = $('report-form');
    form.addEventListener('change', (ev) => {
        if (ev.target.name === 'kind') {
            $('card-row').hidden = ev.target.value !== 'card';
        }
    });
    $('report-cancel').addEventListener('click', () => {
        $('report-dialog').close();
    });
    form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!load(K.pending, null)) {
            const body = reportBody(form);
            if (body.kind === 'card' && !/^[0-9]{4}$/.test(body.card_last4)) {
                const e = $('report-error');
                e.textContent = '请输入银行卡号的后四位数字';
                e.hidden = false;
                $('card_last4').focus();
                return;
            }
            // the key is made and kept before the first try
            store(K.pending, {key: randomKey(), body});
        }
        $('report-dialog').close();
        submitPending();
    });
    setInterval(refreshOpenReports, REFRESH_MS);
    document.addEventListener('visibilitychange', refreshOpenReports);
}

function start(fresh) {
    items = load(K.log, []);
    reports = load(K.reports, {});
    feedback = load(K.feedback, {});
    logEl.replaceChildren();
    for (const it of items) {
        const n = render(it);
        if (n) {
            logEl.append(n);
        }
    }
    scrollDown();
    notice('');
    input.disabled = false;
    if (!items.length || fresh) {
        loadSuggestions();
    } else {
        refreshOpenReports();
    }
    showPending();
}

wire();
token = setupToken(K.token, (t) => {
    const fresh = adoptToken(t);
    start(fresh);
});
if (token) {
    adoptToken(token);
    start(false);
} else {
    input.disabled = true;
    notice('请在 App 内打开客服(正在等待登录信息…)');
    askForToken('missing');
}
