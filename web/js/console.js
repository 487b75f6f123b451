// The trainer's console: dashboard (/v1/admin/stats), test console
// (/v1/admin/search), back office (loss reports, agent queue), 知识学习
// (/v1/admin/kb/suggestions, /v1/admin/kb/similar, /v1/admin/kb/export).  Every call
// goes to an admin endpoint with the admin token of this tab.
import {api, API, askForToken, claims, el, fmtTime, load, setupToken, store,
        KIND_TEXT, PRIORITY_TEXT, REASON_TEXT, STATUS_TEXT} from './common.js';

const K = {token: 'kefu.console.token', tab: 'kefu.console.tab'};
const PAGE = 20;
const $ = (id) => document.getElementById(id);

let token = null;
const charts = {};

// --- sign-in and errors ----------------------------------------------------

function alertBox(text) {
    const a = $('alert');
    a.textContent = text || '';
    a.hidden = !text;
}

function errText(err) {
    switch (err.status) {
    case 0: return '网络连接异常,请检查网络后重试。';
    case 401: return '令牌无效或已过期,请重新登录。';
    case 403: return '此令牌没有管理员权限(403),不能查看控制台数据。';
    case 404: return '没有找到(404)。';
    case 409: return err.code === 'invalid_transition'
        ? '这个状态变更不被允许(例如已办结的挂失单不能重新处理,银行卡挂失不能解除冻结)。'
        : '挂失单刚被别人修改过,请刷新后再试。';
    case 429: return '操作太频繁了,请稍后再试。';
    case 503: return '服务暂时不可用,请稍后再试。';
    default: return '出错了(' + err.status + '),请稍后再试。';
    }
}

// 401/403: nothing stays on screen, the token is dropped
function fail(err) {
    if (err.status === 401 || err.status === 403) {
        signOut(errText(err));
        if (err.status === 401) {
            askForToken('expired');
        }
        return;
    }
    alertBox(errText(err));
}

function clearData() {
    for (const c of Object.values(charts)) {
        c.dispose();
    }
    for (const k of Object.keys(charts)) {
        delete charts[k];
    }
    $('kpis').replaceChildren();
    for (const id of ['top-questions', 'top-unanswered', 'reports',
                      'learned']) {
        $(id).tBodies[0].replaceChildren();
    }
    $('search-result').replaceChildren();
    $('queue').replaceChildren();
    $('suggestions').replaceChildren();
    $('learn-status').textContent = '';
    $('learned-total').textContent = '';
    $('stats-range').textContent = '';
    $('who').textContent = '';
}

function signOut(message) {
    token = null;
    store(K.token, null);
    clearData();
    for (const v of document.querySelectorAll('.view')) {
        v.hidden = true;
    }
    $('tabs').hidden = true;
    $('signout').hidden = true;
    $('signin').hidden = false;
    alertBox(message || '');
}

async function signIn(t) {
    token = t;
    alertBox('');
    const c = claims(t) || {};
    // the server decides; this only avoids a round trip for a user token
    $('signin').hidden = true;
    $('signout').hidden = false;
    $('who').textContent = `租户 ${c.tid || '?'} · ${c.sub || '?'}`;
    $('tabs').hidden = false;
    show(load(K.tab, 'dashboard'));
}

// --- tabs ----------------------------------------------------------------

const VIEWS = ['dashboard', 'search', 'reports', 'queue', 'learn'];
const QUEUE_REFRESH_MS = 10000;

function show(name) {
    if (!VIEWS.includes(name)) {
        name = 'dashboard';
    }
    store(K.tab, name);
    alertBox('');
    for (const v of VIEWS) {
        const on = v === name;
        $('tab-' + v).setAttribute('aria-selected', String(on));
        $('tab-' + v).tabIndex = on ? 0 : -1;
        $('view-' + v).hidden = !on;
    }
    if (name === 'dashboard') {
        loadStats();
    } else if (name === 'reports') {
        loadReports();
    } else if (name === 'queue') {
        loadQueue();
    } else if (name === 'search') {
        $('search-q').focus();
    } else if (name === 'learn') {
        loadSuggestions();
        loadLearned();
    }
}

function wireTabs() {
    const tabs = VIEWS.map((v) => $('tab-' + v));
    tabs.forEach((t, i) => {
        t.addEventListener('click', () => show(VIEWS[i]));
        t.addEventListener('keydown', (ev) => {
            const d = ev.key === 'ArrowRight' ? 1
                : ev.key === 'ArrowLeft' ? -1 : 0;
            if (d) {
                const j = (i + d + tabs.length) % tabs.length;
                tabs[j].focus();
                show(VIEWS[j]);
            }
        });
    });
}

// --- dashboard -----------------------------------------------------------

const KPIS = [
    ['asked', '提问'], ['answered', '直接解答'], ['clarified', '反问澄清'],
    ['fallback', '未能回答'], ['handoff', '要求人工'], ['handoffs', '转人工工单'],
    ['helpful', '有帮助'], ['unhelpful', '没帮助'], ['loss_reports', '挂失'],
    ['police_reports', '报案'], ['resolution_rate', '机器人解决率'],
];

function pct(x) {
    return (Math.round(x * 1000) / 10).toFixed(1) + '%';
}

async function loadStats() {
    if (!token) {
        return;
    }
    const days = $('days').value;
    let r;
    try {
        r = await api(token, 'GET', `admin/stats?days=${days}&top=10`);
    } catch (err) {
        fail(err);
        return;
    }
    const s = r.data;
    $('stats-range').textContent = `${s.from} 至 ${s.to}(UTC)`;
    $('kpis').replaceChildren(...KPIS.map(([k, label]) =>
        el('div', {class: 'kpi' + (k === 'resolution_rate' ? ' main' : ''),
                   dataset: {key: k, value: String(s.total[k])}},
           el('dt', {}, label),
           el('dd', {}, k === 'resolution_rate' ? pct(s.total[k])
               : String(s.total[k])))));
    fillTop('top-questions', s.top_questions, false);
    fillTop('top-unanswered', s.top_unanswered, true);
    drawCharts(s);
}

function fillTop(id, rows, testable) {
    const body = $(id).tBodies[0];
    body.replaceChildren(...rows.map((q, i) => el('tr', {},
        el('td', {}, String(i + 1)),
        el('td', {class: 'q'}, q.question || q.faq_id,
           q.faq_id ? el('span', {class: 'faq-id'}, q.faq_id) : null),
        el('td', {class: 'num'}, String(q.count)),
        testable ? el('td', {}, el('button', {type: 'button',
            class: 'ghost small', 'aria-label': '在测试台测试:' + q.question,
            onclick: () => {
                $('search-q').value = q.question;
                show('search');
                runSearch();
            }}, '测试')) : null)));
    if (!rows.length) {
        body.append(el('tr', {}, el('td', {colspan: testable ? 4 : 3,
                                           class: 'hint'}, '暂无数据')));
    }
}

function chart(id) {
    if (!window.echarts) {
        $(id).textContent = '图表库未能加载。';
        return null;
    }
    if (!charts[id]) {
        charts[id] = window.echarts.init($(id), null,
                                         {renderer: 'canvas', locale: 'ZH'});
    }
    return charts[id];
}

const FONT = 'system-ui, "Noto Sans CJK SC", sans-serif';

function drawCharts(s) {
    const dates = s.daily.map((d) => d.date.slice(5));
    const base = {
        // a canvas tooltip: no HTML with inline styles (CSP)
        tooltip: {trigger: 'axis', renderMode: 'richText'},
        legend: {top: 0, textStyle: {fontFamily: FONT}},
        grid: {left: 44, right: 44, top: 40, bottom: 28},
        xAxis: {type: 'category', data: dates},
        textStyle: {fontFamily: FONT},
        // a text description of the data for screen readers
        aria: {enabled: true},
        animation: false,
    };
    const line = (name, key, color) => ({name, type: 'line', smooth: false,
        symbolSize: 6, color, data: s.daily.map((d) => d[key])});
    const c1 = chart('chart-daily');
    if (c1) {
        c1.setOption(Object.assign({}, base, {
            yAxis: {type: 'value', minInterval: 1},
            series: [line('提问', 'asked', '#0958d9'),
                     line('直接解答', 'answered', '#1b6e1f'),
                     line('反问', 'clarified', '#8a4b00'),
                     line('未能回答', 'fallback', '#b3141f'),
                     line('要求人工', 'handoff', '#6b3fa0')],
        }), true);
    }
    const c2 = chart('chart-rate');
    if (c2) {
        c2.setOption(Object.assign({}, base, {
            yAxis: [{type: 'value', name: '次数', minInterval: 1},
                    {type: 'value', name: '解决率', min: 0, max: 1,
                     axisLabel: {formatter: (v) => Math.round(v * 100) + '%'}}],
            series: [
                {name: '有帮助', type: 'bar', color: '#1b6e1f',
                 data: s.daily.map((d) => d.helpful)},
                {name: '没帮助', type: 'bar', color: '#b3141f',
                 data: s.daily.map((d) => d.unhelpful)},
                {name: '解决率', type: 'line', yAxisIndex: 1, color: '#0958d9',
                 data: s.daily.map((d) => d.resolution_rate)},
            ],
        }), true);
    }
}

// --- test console ----------------------------------------------------------

// the characters of text covered by a matched term, as <mark> runs
function highlight(text, terms) {
    const low = text.toLowerCase();
    const on = new Array(text.length).fill(false);
    for (const t of terms) {
        const tl = t.toLowerCase();
        if (!tl) {
            continue;
        }
        for (let i = low.indexOf(tl); i >= 0; i = low.indexOf(tl, i + 1)) {
            for (let j = i; j < i + tl.length && j < on.length; j++) {
                on[j] = true;
            }
        }
    }
    const out = [];
    let i = 0;
    while (i < text.length) {
        let j = i;
        while (j < text.length && on[j] === on[i]) {
            j++;
        }
        const part = text.slice(i, j);
        out.push(on[i] ? el('mark', {}, part) : part);
        i = j;
    }
    return out;
}

const DECISION_TEXT = {answer: '直接回答', clarify: '反问澄清',
                       fallback: '无法回答(兜底)'};

async function runSearch() {
    const q = $('search-q').value.trim();
    let k = parseInt($('search-k').value, 10);
    if (!q) {
        return;
    }
    if (!(k >= 1 && k <= 20)) {
        k = 5;
        $('search-k').value = '5';
    }
    const out = $('search-result');
    out.replaceChildren(el('p', {class: 'hint'}, '正在检索…'));
    let r;
    try {
        r = await api(token, 'POST', 'admin/search', {question: q, k});
    } catch (err) {
        out.replaceChildren();
        fail(err);
        return;
    }
    const s = r.data;
    const all = new Set(s.items.flatMap((i) => i.matched));
    out.replaceChildren(
        el('p', {class: 'decision', dataset: {decision: s.decision}},
           '机器人会:', el('strong', {}, DECISION_TEXT[s.decision]
               || s.decision),
           el('span', {class: 'hint'}, ` (直接回答阈值 ${s.answer_threshold},`
               + `反问阈值 ${s.clarify_threshold};知识库版本 ${s.kb_version})`)),
        el('p', {class: 'query'}, '问题:', el('span', {class: 'hl'},
           highlight(q, [...all]))),
        s.items.length ? el('ol', {class: 'hits'}, s.items.map((h) =>
            el('li', {class: 'hit', dataset: {faq: h.faq_id}},
               el('div', {class: 'hit-q'}, highlight(h.question, h.matched)),
               el('div', {class: 'hit-meta'},
                  el('span', {class: 'faq-id'}, h.faq_id),
                  el('span', {}, '得分 ', el('b', {class: 'score'},
                     h.score.toFixed(4))),
                  el('span', {}, '置信度 ', el('b', {}, h.confidence.toFixed(3))),
                  el('meter', {min: 0, max: 1, value: h.confidence,
                               'aria-label': '置信度'}),
                  el('span', {}, '覆盖率 ', el('b', {}, pct(h.coverage)))),
               el('div', {class: 'terms', 'aria-label': '命中的词'},
                  h.matched.map((t) => el('span', {class: 'term'}, t))))))
            : el('p', {class: 'hint'}, '没有匹配的问题。'));
}

// --- back office: loss reports ---------------------------------------------

const rep = {status: 'received', cursors: [null], page: 0, next: null,
             current: null};

async function loadReports() {
    const cur = rep.cursors[rep.page];
    const q = 'admin/loss-reports?limit=' + PAGE
        + (rep.status ? '&status=' + rep.status : '')
        + (cur ? '&cursor=' + encodeURIComponent(cur) : '');
    let r;
    try {
        r = await api(token, 'GET', q);
    } catch (err) {
        fail(err);
        return;
    }
    rep.next = r.data.next_cursor;
    const body = $('reports').tBodies[0];
    body.replaceChildren(...r.data.items.map((x) => el('tr',
        {dataset: {id: x.id}},
        el('td', {}, fmtTime(x.created_at)),
        el('td', {class: 'mono'}, x.id.slice(0, 8) + '…'),
        el('td', {}, x.user || ''),
        el('td', {}, KIND_TEXT[x.kind] || x.kind,
           x.card_last4 ? ' ' + x.card_last4 : ''),
        el('td', {}, REASON_TEXT[x.reason] || x.reason,
           x.police_report ? el('span', {class: 'badge urgent'}, '报案')
               : null),
        el('td', {}, x.frozen ? el('span', {class: 'badge frozen'}, '冻结')
            : '—'),
        el('td', {}, el('span', {class: 'badge ' + x.status},
           STATUS_TEXT[x.status] || x.status)),
        el('td', {}, el('button', {type: 'button', class: 'ghost small',
            'aria-label': '查看挂失单 ' + x.id,
            onclick: () => openReport(x.id)}, '查看')))));
    $('reports-empty').hidden = r.data.items.length > 0;
    $('reports-prev').disabled = rep.page === 0;
    $('reports-next').disabled = !rep.next;
    $('reports-page').textContent = `第 ${rep.page + 1} 页`;
}

function wireReports() {
    for (const b of document.querySelectorAll('#view-reports .seg')) {
        b.addEventListener('click', () => {
            rep.status = b.dataset.status;
            rep.cursors = [null];
            rep.page = 0;
            for (const o of document.querySelectorAll('#view-reports .seg')) {
                o.setAttribute('aria-pressed', String(o === b));
            }
            loadReports();
        });
    }
    $('reports-refresh').addEventListener('click', loadReports);
    $('report-find').addEventListener('submit', (ev) => {
        ev.preventDefault();
        const id = $('report-id').value.trim().toLowerCase();
        if (/^[0-9]{2}[0-9a-f]{32}$/.test(id)) {
            openReport(id);
        } else {
            alertBox('单号是 34 位：2 位数字加 32 位十六进制数字。');
        }
    });
    $('reports-next').addEventListener('click', () => {
        if (rep.next) {
            rep.cursors[rep.page + 1] = rep.next;
            rep.page++;
            loadReports();
        }
    });
    $('reports-prev').addEventListener('click', () => {
        if (rep.page > 0) {
            rep.page--;
            loadReports();
        }
    });
    $('detail-dismiss').addEventListener('click', () => {
        $('report-detail').close();
    });
    $('report-detail').addEventListener('close', () => loadReports());
    $('detail-processing').addEventListener('click',
        () => changeReport({status: 'processing'}));
    $('detail-close').addEventListener('click',
        () => changeReport({status: 'closed'}));
    $('detail-freeze').addEventListener('click', () =>
        changeReport({frozen: !(rep.current && rep.current.frozen)}));
}

function showReport(x) {
    rep.current = x;
    const f = (k, v) => [el('dt', {}, k), el('dd', {}, v)];
    $('detail-fields').replaceChildren(
        ...f('单号', el('span', {class: 'mono'}, x.id)),
        ...f('用户', x.user || ''),
        ...f('对象', (KIND_TEXT[x.kind] || x.kind)
             + (x.card_last4 ? ' 尾号 ' + x.card_last4 : '')),
        ...f('原因', REASON_TEXT[x.reason] || x.reason),
        ...f('报案', x.police_report ? '是' : '否'),
        ...f('状态', el('span', {class: 'badge ' + x.status,
                               id: 'detail-status'},
                      STATUS_TEXT[x.status] || x.status)),
        ...f('冻结', el('span', {id: 'detail-frozen'},
                      x.frozen ? '已冻结' : '未冻结')),
        ...f('说明', x.note || '—'),
        ...f('提交', fmtTime(x.created_at)),
        ...f('更新', fmtTime(x.updated_at)));
    $('detail-processing').disabled = x.status !== 'received';
    $('detail-close').disabled = x.status === 'closed';
    $('detail-freeze').textContent = x.frozen ? '解除冻结' : '重新冻结';
    $('detail-freeze').disabled = !x.frozen && x.status === 'closed';
}

async function openReport(id) {
    $('detail-error').hidden = true;
    try {
        const r = await api(token, 'GET', 'admin/loss-reports/' + id);
        showReport(r.data);
    } catch (err) {
        fail(err);
        return;
    }
    const d = $('report-detail');
    if (!d.open) {
        d.showModal();
    }
}

async function changeReport(change) {
    const x = rep.current;
    if (!x) {
        return;
    }
    const e = $('detail-error');
    e.hidden = true;
    try {
        const r = await api(token, 'POST', 'admin/loss-reports/' + x.id,
                            change);
        showReport(r.data);
    } catch (err) {
        if (err.status === 401 || err.status === 403) {
            $('report-detail').close();
            fail(err);
            return;
        }
        e.textContent = errText(err);
        e.hidden = false;
    }
}

// --- back office: agent queue ------------------------------------------------

const que = {cursors: [null], page: 0, next: null};
const TYPE_TEXT = {answer: '回答', clarify: '反问', fallback: '未能回答',
                   handoff: '转人工'};

async function loadQueue() {
    const cur = que.cursors[que.page];
    let r;
    try {
        r = await api(token, 'GET', `admin/tickets?limit=${PAGE}`
            + (cur ? '&cursor=' + encodeURIComponent(cur) : ''));
    } catch (err) {
        fail(err);
        return;
    }
    que.next = r.data.next_cursor;
    $('queue').replaceChildren(...r.data.items.map(ticket));
    $('queue-empty').hidden = r.data.items.length > 0;
    $('queue-prev').disabled = que.page === 0;
    $('queue-next').disabled = !que.next;
    $('queue-page').textContent = `第 ${que.page + 1} 页`;
}

function ticket(t) {
    const turns = (t.turns || []).slice(-6);
    const li = el('li', {class: 'panel ticket', dataset: {id: t.id}},
        el('div', {class: 'ticket-head'},
           el('span', {class: 'pos'}, '#' + t.position),
           el('span', {class: 'badge ' + t.priority},
              PRIORITY_TEXT[t.priority] || t.priority),
           el('strong', {}, t.user),
           el('span', {class: 'hint'}, fmtTime(t.created_at))),
        t.reason ? el('p', {}, '原因:' + t.reason) : null,
        el('details', {open: turns.length ? true : null},
           el('summary', {}, `最近 ${turns.length} 轮对话`),
           el('ol', {class: 'turns'}, turns.map((u) => el('li',
              {value: u.turn},
              el('span', {class: 'badge ' + (u.type === 'answer' ? 'closed'
                  : 'processing')}, TYPE_TEXT[u.type] || u.type), ' ',
              u.q || '', u.faq_id ? el('span', {class: 'faq-id'}, u.faq_id)
                  : null)))),
        el('div', {class: 'actions'}, el('button', {type: 'button',
           class: 'danger small', 'aria-label': '关闭工单 ' + t.id,
           onclick: (ev) => closeTicket(t.id, ev.currentTarget)}, '关闭工单')));
    return li;
}

async function closeTicket(id, btn) {
    btn.disabled = true;
    try {
        await api(token, 'POST', 'admin/tickets/' + id, {status: 'closed'});
    } catch (err) {
        btn.disabled = false;
        fail(err);
        return;
    }
    loadQueue();
}

function wireQueue() {
    $('queue-refresh').addEventListener('click', loadQueue);
    $('queue-next').addEventListener('click', () => {
        if (que.next) {
            que.cursors[que.page + 1] = que.next;
            que.page++;
            loadQueue();
        }
    });
    $('queue-prev').addEventListener('click', () => {
        if (que.page > 0) {
            que.page--;
            loadQueue();
        }
    });
}

// --- 知识学习: proposals, learned similar questions, export ---------------

const lrn = {cursors: [null], page: 0, next: null};
const SOURCE_TEXT = {implicit: '用户点选', unanswered: '未解答',
                     clarified: '反问过'};

function learnErrText(err, what) {
    switch (err.status) {
    case 404: return what === 'delete' ? '这条相似问题已经被删除了。'
        : '这个知识点已不在知识库中(知识库可能刚更新),请刷新后再试。';
    case 409: return err.code === 'kb_file_changed'
        ? '服务器上的知识库文件已修改但还没有重新加载,请重新加载后再导出。'
        : '知识库里已经有这个问法了(可能刚被别人采纳),不用再采纳。';
    case 422: return '已学习的相似问题达到上限:请先导出知识库、'
        + '写回知识库文件并重新加载,或删除不再需要的条目。';
    case 503: return '服务暂时不可用,这次操作没有保存,请稍后再试。';
    default: return errText(err);
    }
}

function learnStatus(text) {
    $('learn-status').textContent = text;
}

// after a card leaves the list, the keyboard stays in the list
function focusAfter(li) {
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    const b = next && next.querySelector('button');
    if (b) {
        b.focus();
    } else {
        $('sugg-refresh').focus();
    }
    $('sugg-empty').hidden = $('suggestions').children.length > 0;
}

async function loadSuggestions() {
    let r;
    try {
        r = await api(token, 'GET', 'admin/kb/suggestions?days='
                      + $('sugg-days').value + '&top=20');
    } catch (err) {
        fail(err);
        return;
    }
    const s = r.data;
    $('sugg-note').textContent = `${s.from} 至 ${s.to}(UTC);`
        + `${s.min_users} 位以上不同用户点选过的排在最前`;
    $('suggestions').replaceChildren(...s.items.map(suggestion));
    $('sugg-empty').hidden = s.items.length > 0;
}

function suggestion(x) {
    const msg = el('p', {class: 'sugg-msg error', role: 'alert', hidden: true});
    const li = el('li', {class: 'sugg' + (x.source === 'implicit'
                                          ? ' implicit' : ''),
                         dataset: {q: x.question, source: x.source}});
    const say = (text) => {
        msg.textContent = text;
        msg.hidden = !text;
    };
    li.append(
        el('div', {class: 'sugg-head'},
           el('span', {class: 'sugg-q'}, x.question),
           el('span', {class: 'badge ' + (x.source === 'implicit' ? 'urgent'
               : 'received')}, SOURCE_TEXT[x.source] || x.source),
           el('span', {class: 'hint users'}, `${x.users} 人次问过`),
           el('button', {type: 'button', class: 'ghost small dismiss',
               'aria-label': '忽略问题:' + x.question,
               onclick: (ev) => dismiss(x, li, ev.currentTarget, say)},
              '忽略')),
        x.faqs.length ? el('ol', {class: 'sugg-faqs',
                                  'aria-label': '可能属于的知识点'},
            x.faqs.map((f) => el('li', {class: 'sugg-faq',
                                        dataset: {faq: f.faq_id}},
                el('span', {class: 'faq-q'}, f.question,
                   el('span', {class: 'faq-id'}, f.faq_id)),
                f.implicit ? el('span', {class: 'badge urgent'},
                    `${f.users || 0} 位用户选过`) : null,
                el('span', {}, '得分 ', el('b', {class: 'score'},
                   f.score.toFixed(4))),
                el('meter', {min: 0, max: 1, value: f.confidence,
                             'aria-label': '置信度'}),
                el('button', {type: 'button', class: 'small adopt',
                    'aria-label': `采纳:“${x.question}”作为“${f.question}”`
                        + '的相似问题',
                    onclick: (ev) => adopt(x, f, li, ev.currentTarget, say)},
                   '采纳'))))
            : el('p', {class: 'hint'}, '没有找到相近的知识点:可能需要新增一条 FAQ。'),
        msg);
    return li;
}

async function adopt(x, f, li, btn, say) {
    say('');
    btn.disabled = true;
    try {
        await api(token, 'POST', 'admin/kb/similar',
                  {faq_id: f.faq_id, question: x.question});
    } catch (err) {
        btn.disabled = false;
        if (err.status === 401 || err.status === 403) {
            fail(err);
            return;
        }
        say(learnErrText(err, 'adopt'));
        return;
    }
    learnStatus(`已采纳:“${x.question}”成为“${f.question}”的相似问题,`
                + '约一秒内生效。');
    focusAfter(li);
    loadLearned();
}

async function dismiss(x, li, btn, say) {
    say('');
    btn.disabled = true;
    try {
        await api(token, 'POST', 'admin/kb/suggestions/dismiss',
                  {question: x.question});
    } catch (err) {
        btn.disabled = false;
        if (err.status === 401 || err.status === 403) {
            fail(err);
            return;
        }
        say(learnErrText(err, 'dismiss'));
        return;
    }
    learnStatus(`已忽略:“${x.question}”(30 天内不再推荐)。`);
    focusAfter(li);
}

async function loadLearned() {
    const cur = lrn.cursors[lrn.page];
    let r;
    try {
        r = await api(token, 'GET', `admin/kb/similar?limit=${PAGE}`
            + (cur ? '&cursor=' + encodeURIComponent(cur) : ''));
    } catch (err) {
        fail(err);
        return;
    }
    const d = r.data;
    lrn.next = d.next_cursor;
    $('learned').tBodies[0].replaceChildren(...d.items.map((x) => el('tr',
        {dataset: {id: x.id, faq: x.faq_id}},
        el('td', {class: 'q'}, x.question),
        el('td', {class: 'mono'}, x.faq_id),
        el('td', {}, x.in_file ? '已写入知识库文件' : '在线生效'),
        el('td', {}, el('button', {type: 'button', class: 'danger small',
            'aria-label': '删除相似问题:' + x.question,
            onclick: (ev) => deleteLearned(x, ev.currentTarget)}, '删除')))));
    $('learned-empty').hidden = d.items.length > 0;
    $('learned-total').textContent = `共 ${d.total} 条(上限 ${d.max})`;
    $('learned-prev').disabled = lrn.page === 0;
    $('learned-next').disabled = !lrn.next;
    $('learned-page').textContent = `第 ${lrn.page + 1} 页`;
}

async function deleteLearned(x, btn) {
    btn.disabled = true;
    try {
        await api(token, 'DELETE', 'admin/kb/similar/' + x.id);
        learnStatus(`已删除:“${x.question}”。`);
    } catch (err) {
        btn.disabled = false;
        if (err.status === 401 || err.status === 403) {
            fail(err);
            return;
        }
        learnStatus(learnErrText(err, 'delete'));
        if (err.status !== 404) {
            return;
        }
    }
    // the row is gone either way (404: someone deleted it first)
    $('learned-refresh').focus();
    if (lrn.page > 0 && $('learned').tBodies[0].rows.length === 1) {
        lrn.page--;
    }
    loadLearned();
}

// the token goes in the Authorization header, never in a URL: fetch the
// file, then hand the browser a Blob to save
async function exportKb() {
    const btn = $('kb-export');
    btn.disabled = true;
    let res;
    try {
        res = await fetch(API + 'admin/kb/export', {cache: 'no-store',
            credentials: 'omit', headers: {Authorization: 'Bearer ' + token,
                                            Accept: 'application/json'}});
    } catch (e) {
        res = null;
    }
    btn.disabled = false;
    if (!res || !res.ok) {
        let code;
        try {
            code = res && (await res.json()).error.code;
        } catch (e) {
            code = undefined;
        }
        const err = {status: res ? res.status : 0, code};
        if (err.status === 401 || err.status === 403) {
            fail(err);
        } else {
            learnStatus(learnErrText(err, 'export'));
        }
        return;
    }
    const blob = await res.blob();
    const c = claims(token) || {};
    const day = new Date().toISOString().slice(0, 10);
    const a = el('a', {href: URL.createObjectURL(blob),
                       download: `kb-${c.tid || c.kid || 'tenant'}-${day}.json`});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    learnStatus('知识库已导出(含已学习的相似问题):写回知识库文件并重新加载即可。');
}

function wireLearn() {
    $('sugg-days').addEventListener('change', loadSuggestions);
    $('sugg-refresh').addEventListener('click', loadSuggestions);
    $('learned-refresh').addEventListener('click', loadLearned);
    $('kb-export').addEventListener('click', exportKb);
    $('learned-next').addEventListener('click', () => {
        if (lrn.next) {
            lrn.cursors[lrn.page + 1] = lrn.next;
            lrn.page++;
            loadLearned();
        }
    });
    $('learned-prev').addEventListener('click', () => {
        if (lrn.page > 0) {
            lrn.page--;
            loadLearned();
        }
    });
}

// --- start ---------------------------------------------------------------

function wire() {
    wireTabs();
    wireReports();
    wireQueue();
    wireLearn();
    $('days').addEventListener('change', loadStats);
    $('stats-refresh').addEventListener('click', loadStats);
    $('search-form').addEventListener('submit', (ev) => {
        ev.preventDefault();
        runSearch();
    });
    $('signin-form').addEventListener('submit', (ev) => {
        ev.preventDefault();
        const t = $('token-input').value.trim();
        $('token-input').value = '';
        if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(t)) {
            alertBox('这不是一个有效的令牌。');
            return;
        }
        store(K.token, t);
        signIn(t);
    });
    $('signout').addEventListener('click', () => signOut(''));
    window.addEventListener('resize', () => {
        for (const c of Object.values(charts)) {
            c.resize();
        }
    });
}

wire();
const t0 = setupToken(K.token, (t) => {
    clearData();
    signIn(t);
});
// agents watch the queue: it refreshes itself while shown
setInterval(() => {
    if (token && !document.hidden && !$('view-queue').hidden) {
        loadQueue();
    }
}, QUEUE_REFRESH_MS);
if (t0) {
    signIn(t0);
} else {
    signOut('');
}
