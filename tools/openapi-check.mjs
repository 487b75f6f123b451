// Checks docs/openapi.yaml against reality: every API response the
// integration tests recorded (KEFU_RECORD=dir, one JSON line per response
// written by lua-free-tests/lib/KefuTest.pm) must be JSON, belong to a
// documented operation and status, and match that response's schema.
//
//   node tools/openapi-check.mjs docs/openapi.yaml RECORD_DIR
//
// Exits 1 on any mismatch, on an empty record, or when a schema accepts
// an empty object although it has required properties (a vacuous schema
// would make the check pass whatever the server sends).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(path.join(process.cwd(), 'noop.js'));
const load = (name) => {
    const dirs = (process.env.NODE_PATH || '').split(':').filter(Boolean);
    for (const d of dirs) {
        try {
            return require(path.join(d, name));
        } catch (e) {
            if (e.code !== 'MODULE_NOT_FOUND') throw e;
        }
    }
    return require(name);
};

const YAML = load('yaml');
const Ajv = load('ajv').default;

const [specFile, recordDir] = process.argv.slice(2);
if (!specFile || !recordDir) {
    console.error('usage: openapi-check.mjs openapi.yaml record-dir');
    process.exit(2);
}

const spec = YAML.parse(fs.readFileSync(specFile, 'utf8'));

// OpenAPI 3.0's "nullable: true" is JSON Schema's type [T, "null"]
const nullable = (node) => {
    if (Array.isArray(node)) {
        node.forEach(nullable);
    } else if (node && typeof node === 'object') {
        if (node.nullable === true && typeof node.type === 'string') {
            node.type = [node.type, 'null'];
            if (Array.isArray(node.enum)) node.enum.push(null);
        }
        delete node.nullable;
        Object.values(node).forEach(nullable);
    }
};
nullable(spec.components);
nullable(spec.paths);
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema(spec, 'openapi.json');

const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const deref = (obj) => {
    while (obj && obj.$ref) {
        const ptr = obj.$ref.replace(/^#\//, '').split('/')
            .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
        obj = ptr.reduce((o, k) => (o ? o[k] : undefined), spec);
    }
    return obj;
};

// the JSON pointer (inside openapi.json) of a response's JSON schema
const schemaRef = (base, res) => {
    let ptr = base;
    let r = res;
    while (r && r.$ref) {
        ptr = r.$ref.replace(/^#/, '');
        r = deref({ $ref: r.$ref });
    }
    if (!r || !r.content || !r.content['application/json']) return null;
    return `openapi.json#${ptr}/content/${esc('application/json')}/schema`;
};

const templates = Object.keys(spec.paths).map((p) => ({
    path: p,
    re: new RegExp('^' + p.replace(/[.*+?^$()|[\]\\]/g, '\\$&')
        .replace(/\{[^}]+\}/g, '[^/]+') + '$'),
    literal: !p.includes('{'),
}));

const findPath = (p) => {
    const hits = templates.filter((t) => t.re.test(p));
    return hits.find((t) => t.literal) || hits[0];
};

const errorRef = 'openapi.json#/components/schemas/Error';
const failures = [];
const seen = new Map();
let total = 0;

const files = fs.existsSync(recordDir)
    ? fs.readdirSync(recordDir).filter((f) => f.endsWith('.jsonl')) : [];

for (const f of files.sort()) {
    const lines = fs.readFileSync(path.join(recordDir, f), 'utf8')
        .split('\n').filter(Boolean);
    for (const line of lines) {
        const rec = JSON.parse(line);
        total++;
        const what = `${rec.test}: ${rec.method} ${rec.path} -> ${rec.status}`;
        const fail = (why) => failures.push(`${what}: ${why}`);

        const t0 = findPath(rec.path);
        const op0 = t0 && spec.paths[t0.path][rec.method.toLowerCase()];
        const r0 = op0 && deref(op0.responses[String(rec.status)]);
        if (r0 && !r0.content) {
            // documented without a body (204): there must be none
            if (rec.raw !== '' || rec.json) {
                fail('a body where the description has none');
            } else {
                const key = `${rec.method} ${t0.path} ${rec.status}`;
                seen.set(key, (seen.get(key) || 0) + 1);
            }
            continue;
        }
        if (!/^application\/json; charset=utf-8$/i.test(rec.content_type)) {
            fail(`content type "${rec.content_type}"`);
            continue;
        }
        if (!rec.json) {
            fail(`body is not JSON: ${JSON.stringify(rec.raw)}`);
            continue;
        }

        const t = findPath(rec.path);
        const op = t && spec.paths[t.path][rec.method.toLowerCase()];
        let ref;
        let key;

        if (!op) {
            // unknown endpoint or method: the error contract still holds
            if (![404, 405].includes(rec.status)) {
                fail(t ? 'undocumented method' : 'undocumented path');
                continue;
            }
            ref = errorRef;
            key = `(unrouted) ${rec.status}`;
        } else {
            const s = String(rec.status);
            const rkey = [s, `${s[0]}XX`, 'default']
                .find((k) => op.responses[k]);
            if (!rkey) {
                fail(`status not documented for ${rec.method} ${t.path}`);
                continue;
            }
            const base = `/paths/${esc(t.path)}/${rec.method.toLowerCase()}`
                + `/responses/${esc(rkey)}`;
            ref = schemaRef(base, op.responses[rkey]);
            if (!ref) {
                fail(`no application/json schema for ${rkey}`);
                continue;
            }
            key = `${rec.method} ${t.path} ${rkey}`;
        }

        const validate = ajv.getSchema(ref);
        if (!validate) {
            fail(`schema ${ref} not found`);
            continue;
        }
        if (!validate(rec.body)) {
            fail(ajv.errorsText(validate.errors, { dataVar: 'body' })
                 + `\n    body: ${JSON.stringify(rec.body).slice(0, 300)}`);
            continue;
        }
        seen.set(key, (seen.get(key) || 0) + 1);
    }
}

// schemas with required properties must refuse {}

for (const [p, item] of Object.entries(spec.paths)) {
    for (const [m, op] of Object.entries(item)) {
        if (!op || !op.responses) continue;
        for (const [k, r] of Object.entries(op.responses)) {
            const ref = schemaRef(`/paths/${esc(p)}/${m}/responses/${esc(k)}`,
                                  r);
            const sch = ref && deref(deref(r).content['application/json']
                                     .schema);
            if (!ref || !sch || !(sch.required || []).length) continue;
            if (ajv.getSchema(ref)({})) {
                failures.push(`${m.toUpperCase()} ${p} ${k}: schema accepts {}`);

            }
        }
    }
}

const documented = [];
for (const [p, item] of Object.entries(spec.paths)) {
    for (const m of Object.keys(item)) {
        if (['get', 'post', 'put', 'patch', 'delete'].includes(m)) {
            documented.push(`${m.toUpperCase()} ${p}`);
        }
    }
}
const exercised = new Set([...seen.keys()].map((k) => k.split(' ')
    .slice(0, 2).join(' ')));
const untested = documented.filter((d) => !exercised.has(d));

console.log(`openapi-check: ${total} recorded responses from ${files.length}`
            + ` test files, ${seen.size} operation/status pairs matched`);
for (const [k, n] of [...seen.entries()].sort()) {
    console.log(`  ${String(n).padStart(5)}  ${k}`);
}
if (untested.length) {
    console.log(`openapi-check: operations without a recorded response: `
                + untested.join(', '));
}

if (total === 0) {
    failures.push(`no recorded responses in ${recordDir} (run the`
                  + ' integration tests with KEFU_RECORD=dir, as make test'
                  + ' does)');
}

if (failures.length) {
    // one line per kind of failure (as the first test that showed it)
    const kinds = new Map();
    for (const f of failures) {
        const k = f.replace(/^[^:]*: /, '').replace(/\n[\s\S]*/, '')
            .replace(/\/\d+\//g, '/N/');
        if (!kinds.has(k)) kinds.set(k, { first: f, n: 0 });
        kinds.get(k).n++;
    }
    console.log(`openapi-check: ${failures.length} FAILED, `
                + `${kinds.size} kinds:`);
    for (const { first, n } of [...kinds.values()].slice(0, 40)) {
        console.log(`  (${n}x) ${first}`);
    }
    process.exit(1);
}

console.log('openapi-check: all responses match docs/openapi.yaml');
