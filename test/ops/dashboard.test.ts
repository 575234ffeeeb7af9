// The Grafana dashboard (deploy/grafana/os2-fordeling.json) and the Prometheus alert rules
// (deploy/prometheus/alerts.yaml) against the metrics lib/ops/metrics.ts really exposes: a renamed or removed metric,
// a typo in a query or a panel left without the dashboard's datasource variable fails here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { registry } from '../../lib/ops/metrics';

// js-yaml is in node_modules through mocha and node-red (no dependency of its own, no types): read through require.
const yaml = require('js-yaml') as { load(text: string): unknown };

const root = path.resolve(__dirname, '..', '..');
const DASHBOARD = path.join(root, 'deploy', 'grafana', 'os2-fordeling.json');
const ALERTS = path.join(root, 'deploy', 'prometheus', 'alerts.yaml');
const DS_UID = '${DS_PROMETHEUS}';

/** Series Prometheus itself adds to every scrape; allowed besides the package's own. */
const STANDARD = new Set(['up']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads. Not a full parser, enough for these files: strings, label matchers,
 * range/subquery brackets, grouping clauses and Grafana variables are removed; what is left that looks like an
 * identifier and is not called as a function or a keyword is a metric name.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{[^}]*\}|\$[A-Za-z_]\w*/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.:])[A-Za-z_:][\w:]*(?!\w)/g)) {
    const rest = stripped.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest)) continue; // a function
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** What may appear in a query: every exposed name, a histogram's or summary's series too. */
async function exposedNames(): Promise<{ metrics: Map<string, string>; allowed: Set<string> }> {
  const metrics = new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
  const allowed = new Set(STANDARD);
  for (const [name, type] of metrics) {
    allowed.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) allowed.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) allowed.add(name + s);
  }
  return { metrics, allowed };
}

/** The metric family a series name belongs to (os2_x_bucket → os2_x). */
function family(name: string, metrics: Map<string, string>): string {
  if (metrics.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return metrics.has(base) ? base : name;
}

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

interface Rule {
  alert?: string;
  record?: string;
  expr?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

function loadDashboard(): Dashboard {
  return JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard;
}

/** Every panel, those inside collapsed rows too. */
function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every query of the dashboard, with where it is: panel targets and query variables (label_values(<expr>, label)). */
function dashboardQueries(d: Dashboard): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const p of allPanels(d)) for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    // `query` is what Grafana runs, `definition` what its editor shows
    for (const q of [typeof v.query === 'string' ? v.query : (v.query?.query ?? ''), v.definition ?? '']) {
      const lv = /^\s*label_values\(\s*([\s\S]*?)\s*(?:,\s*\w+\s*)?\)\s*$/.exec(q);
      out.push({ where: `variable $${v.name}`, expr: lv ? lv[1]! : q });
    }
  }
  return out;
}

function loadRules(): Rule[] {
  const doc = yaml.load(fs.readFileSync(ALERTS, 'utf8')) as { groups?: Array<{ name?: string; rules?: Rule[] }> };
  assert.ok(Array.isArray(doc?.groups) && doc.groups.length > 0, 'alerts.yaml: no groups');
  return doc.groups.flatMap((g) => {
    assert.ok(g.name, 'alerts.yaml: a group without a name');
    assert.ok(Array.isArray(g.rules) && g.rules.length > 0, `alerts.yaml: group ${g.name} has no rules`);
    return g.rules;
  });
}

describe('deploy/: Grafana dashboard and Prometheus alert rules against lib/ops/metrics', () => {
  it('reads metric names out of PromQL (the check below depends on it)', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.95, sum by (le) (rate(os2_delivery_send_seconds_bucket{job=~"$job", code="up"}[$__rate_interval]))) / on (job) group_left max(os2_x offset 1d) or vector(0)',
      ).sort(),
      ['os2_delivery_send_seconds_bucket', 'os2_x'],
    );
    assert.deepEqual(metricNames('sum(increase(os2_receipts_totl{type="SFTP"}[1h])) > 0 unless up == 0'), ['os2_receipts_totl', 'up']);
    assert.deepEqual(metricNames('min_over_time(os2_breaker_state[15m:1m]) >= 1'), ['os2_breaker_state']);
  });

  it('the registry exposes os2_breaker_state (the breaker panel and alert need it)', async () => {
    const { metrics } = await exposedNames();
    assert.equal(metrics.get('os2_breaker_state'), 'gauge', 'lib/ops/metrics.ts has no gauge os2_breaker_state');
  });

  it('the dashboard parses, uses the datasource variable everywhere and no fixed datasource UID', () => {
    const d = loadDashboard();
    assert.ok(d.title && d.schemaVersion >= 36, 'not a Grafana 10+ dashboard');
    const dsVar = d.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
    assert.equal(dsVar?.type, 'datasource', 'a datasource variable DS_PROMETHEUS');
    assert.equal((dsVar as { query?: unknown }).query, 'prometheus');
    // Every datasource reference anywhere in the file is the variable (no UID of someone's Grafana).
    const refs: unknown[] = [];
    JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'), (key, value) => {
      if (key === 'datasource') refs.push(value);
      return value;
    });
    for (const r of refs) assert.deepEqual(r, { type: 'prometheus', uid: DS_UID }, `datasource ${JSON.stringify(r)}`);
    const ids = new Set<number>();
    for (const p of allPanels(d)) {
      assert.ok(!ids.has(p.id), `panel id ${p.id} twice`);
      ids.add(p.id);
      if (p.type === 'row') {
        assert.ok(!p.targets?.length, `row "${p.title}" has queries`);
        continue;
      }
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: DS_UID }, `panel "${p.title}": datasource`);
      assert.ok(p.targets?.length, `panel "${p.title}" has no query`);
      for (const t of p.targets!) {
        assert.deepEqual(t.datasource, { type: 'prometheus', uid: DS_UID }, `panel "${p.title}": a query's datasource`);
        assert.ok(t.expr?.trim(), `panel "${p.title}": a query without expr`);
      }
    }
    for (const v of d.templating.list.filter((v) => v.type === 'query'))
      assert.deepEqual(v.datasource, { type: 'prometheus', uid: DS_UID }, `variable $${v.name}`);
  });

  it('the panels fit the 24-column grid without overlapping', () => {
    const placed = loadDashboard().panels; // a collapsed row's panels are placed when it opens
    for (const p of placed)
      assert.ok(p.gridPos.x >= 0 && p.gridPos.w > 0 && p.gridPos.h > 0 && p.gridPos.x + p.gridPos.w <= 24, `panel "${p.title}" is off the grid`);
    for (const [i, a] of placed.entries())
      for (const b of placed.slice(i + 1)) {
        const apart =
          a.gridPos.x + a.gridPos.w <= b.gridPos.x ||
          b.gridPos.x + b.gridPos.w <= a.gridPos.x ||
          a.gridPos.y + a.gridPos.h <= b.gridPos.y ||
          b.gridPos.y + b.gridPos.h <= a.gridPos.y;
        assert.ok(apart, `panels "${a.title}" and "${b.title}" overlap`);
      }
  });

  it('the dashboard reads only metrics the registry exposes, and has a panel for every one of them', async () => {
    const { metrics, allowed } = await exposedNames();
    const d = loadDashboard();
    const used = new Set<string>();
    for (const q of dashboardQueries(d)) {
      const names = metricNames(q.expr);
      assert.ok(names.length > 0, `${q.where}: no metric in ${q.expr}`);
      for (const n of names) {
        assert.ok(allowed.has(n), `${q.where}: ${n} is not exposed by lib/ops/metrics.ts (${q.expr})`);
        used.add(family(n, metrics));
      }
    }
    const missing = [...metrics.keys()].filter((m) => !used.has(m));
    assert.deepEqual(missing, [], 'metrics without a panel');
    for (const required of ['os2_breaker_state', 'up']) assert.ok(used.has(required), `no panel reads ${required}`);
    // SFTP receipts have their own panel
    assert.ok(
      dashboardQueries(d).some((q) => /os2_receipts_total\{[^}]*type="SFTP"/.test(q.expr)),
      'no panel for os2_receipts_total{type="SFTP"}',
    );
  });

  it('the alert rules parse, are complete and read only exposed metrics', async () => {
    const { allowed } = await exposedNames();
    const rules = loadRules();
    const names = new Set<string>();
    for (const r of rules) {
      assert.ok(typeof r.alert === 'string' && /^\w+$/.test(r.alert), `a rule without an alert name: ${JSON.stringify(r)}`);
      assert.ok(!names.has(r.alert), `alert ${r.alert} twice`);
      names.add(r.alert);
      assert.ok(typeof r.expr === 'string' && r.expr.trim(), `${r.alert}: expr`);
      assert.ok(typeof r.for === 'string' && /^(\d+(ms|[smhdwy]))+$/.test(r.for), `${r.alert}: for (a duration, e.g. 5m)`);
      assert.ok(['info', 'warning', 'critical'].includes(String(r.labels?.severity)), `${r.alert}: labels.severity`);
      assert.ok(typeof r.annotations?.summary === 'string' && r.annotations.summary.trim(), `${r.alert}: annotations.summary`);
      const read = metricNames(r.expr);
      assert.ok(read.length > 0, `${r.alert}: no metric in ${r.expr}`);
      for (const n of read) assert.ok(allowed.has(n), `${r.alert}: ${n} is not exposed by lib/ops/metrics.ts`);
    }
    // what operations.md promises to alert on
    for (const a of [
      'OS2CertificateExpiresSoon',
      'OS2CertificateExpired',
      'OS2QueueStalled',
      'OS2BreakerOpen',
      'OS2InstanceDown',
      'OS2ReceiptsRejected',
      'OS2NoBusinessReceipts',
    ])
      assert.ok(names.has(a), `no alert ${a}`);
  });
});
