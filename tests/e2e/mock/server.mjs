// An in-memory stand-in for `sovereel serve` that speaks the HTTP contract of
// DESIGN.md (plus the extra endpoints the web client relies on). It lets the
// browser tests exercise the client before, and independently of, the real
// server: `node mock/server.mjs --listen 127.0.0.1:0` prints "listening on URL".
// It is a test double, not a reference: the real server's behaviour wins.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { checkpoint, makeSigner, path as proofPath } from '../lib/tlog.mjs';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web');
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.svg': 'image/svg+xml', '.png': 'image/png', '.webmanifest': 'application/manifest+json' };

const REGIONS = [
  { id: 'us', name: 'United States', custodian: 'Lone Star Data Trust', countries: ['US'], default: false },
  { id: 'au', name: 'Australia', custodian: 'Southern Cross Custody', countries: ['AU'], default: false },
  { id: 'nz', name: 'New Zealand', custodian: 'Aotearoa Data Trust', countries: ['NZ'], default: false },
  { id: 'global', name: 'Global', custodian: 'Sovereel Platform (global custodian)', countries: [], default: true },
];
const COUNTRIES = [['US', 'United States'], ['AU', 'Australia'], ['NZ', 'New Zealand'], ['DE', 'Germany'], ['JP', 'Japan'], ['BR', 'Brazil']]
  .map(([code, name]) => ({ code, name, region: REGIONS.find((r) => r.countries.includes(code))?.id || 'global' }));

const users = new Map(); // handle -> account
const sessions = new Map(); // token -> handle
const videos = new Map(); // id -> video record
const comments = new Map(); // video id -> [comment]
const exports = new Map();
const logs = Object.fromEntries(REGIONS.map((r) => [r.id, { signer: makeSigner(`sovereel.test/log/${r.id}`), leaves: [], entries: [] }]));
let seq = 0;
const pseudonymKey = crypto.randomBytes(32);
const pseudonym = (handle) => crypto.createHmac('sha256', pseudonymKey).update(handle).digest('hex');
const nextId = (prefix) => `${prefix}${(++seq).toString(36).padStart(6, '0')}`;

function appendLog(region, entry) {
  const log = logs[region];
  const leaf = Buffer.from(JSON.stringify(entry));
  log.leaves.push(leaf);
  log.entries.push(entry);
  return log.leaves.length - 1;
}
appendLog('us', { v: 1, kind: 'release', action: 'approve', release: 'r1' });

function problem(res, status, type, title, detail) {
  send(res, status, { type: `/problems/${type}`, title, status, detail, instance: null }, 'application/problem+json');
}

function send(res, status, body, type = 'application/json', headers = {}) {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': data.length, ...headers });
  res.end(data);
}

function cookie(req, name) {
  const m = (req.headers.cookie || '').split(/;\s*/).find((c) => c.startsWith(`${name}=`));
  return m ? m.slice(name.length + 1) : null;
}

function caller(req) {
  const token = cookie(req, 'sovereel_session') || (req.headers.authorization || '').replace(/^Bearer /, '');
  const handle = sessions.get(token);
  const user = handle && users.get(handle);
  return user && !user.deleted ? user : null;
}

function publicUser(u, viewer) {
  return {
    handle: u.handle, display_name: u.display_name, bio: u.bio, region: u.region, private: u.private,
    counts: {
      followers: u.followers.size, following: u.following.size,
      videos: [...videos.values()].filter((v) => v.author === u.handle && !v.deleted).length,
      likes: [...videos.values()].filter((v) => v.author === u.handle).reduce((n, v) => n + v.likes.size, 0),
    },
    followed_by_me: Boolean(viewer && u.followers.has(viewer.handle)),
    follow_state: viewer && u.followers.has(viewer.handle) ? 'approved' : viewer && u.requests.has(viewer.handle) ? 'pending' : 'none',
  };
}

function videoView(v, viewer) {
  const a = users.get(v.author);
  return {
    id: v.id, author: { handle: a.handle, display_name: a.display_name, region: a.region }, caption: v.caption,
    hashtags: v.hashtags, mentions: v.mentions, visibility: v.visibility, comments: v.comments, state: v.state,
    duration_ms: v.duration_ms, width: 360, height: 640,
    counts: { likes: v.likes.size, comments: (comments.get(v.id) || []).length, shares: v.shares, views: v.views },
    liked_by_me: Boolean(viewer && v.likes.has(viewer.handle)),
    stream_url: `/v1/videos/${v.id}/stream`, poster_url: v.poster ? `/v1/videos/${v.id}/poster` : null, labels: [], created_at: v.created_at,
  };
}

function visible(v, viewer) {
  const a = users.get(v.author);
  if (v.deleted || !a || a.deleted) return false;
  if (viewer && (a.blocked.has(viewer.handle) || viewer.blocked.has(a.handle))) return false;
  if (viewer?.handle === v.author) return true;
  if (v.visibility === 'private') return false;
  if (v.visibility === 'followers' || a.private) return Boolean(viewer && a.followers.has(viewer.handle));
  return true;
}

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

async function json(req) {
  try {
    return JSON.parse((await body(req)).toString() || '{}');
  } catch {
    return null;
  }
}

const routes = [];
const route = (method, pattern, fn) => routes.push([method, new RegExp(`^${pattern}$`), fn]);

route('GET', '/healthz', (req, res) => send(res, 200, 'ok', 'text/plain'));
route('GET', '/v1/server', (req, res) => send(res, 200, { ffmpeg: false, max_upload_bytes: 200e6, max_duration_ms: 180000, deletion_grace_days: 0, regions: REGIONS.map((r) => r.id) }));
route('GET', '/v1/regions', (req, res) => send(res, 200, { items: REGIONS }));
route('GET', '/v1/countries', (req, res) => send(res, 200, { items: COUNTRIES }));

route('POST', '/v1/accounts', async (req, res) => {
  const b = await json(req);
  if (!b?.handle || !/^[A-Za-z0-9_.]{2,30}$/.test(b.handle)) return problem(res, 422, 'invalid-handle', 'Invalid handle', 'Handles are 2 to 30 letters, digits, dots or underscores.');
  if (users.has(b.handle.toLowerCase())) return problem(res, 409, 'handle-taken', 'Handle taken', `@${b.handle} is already taken.`);
  if (!b.password || b.password.length < 8) return problem(res, 422, 'weak-password', 'Password too short', 'Use at least 8 characters.');
  const country = COUNTRIES.find((c) => c.code === String(b.country).toUpperCase());
  if (!country) return problem(res, 422, 'invalid-country', 'Unknown country', 'Choose a country from the list.');
  const age = (Date.now() - Date.parse(b.birthdate)) / (365.25 * 864e5);
  if (!(age >= 13)) return problem(res, 422, 'age-requirement', 'Too young', 'You must be 13 or older to use Sovereel.');
  const u = { handle: b.handle.toLowerCase(), display_name: b.handle, bio: '', region: country.region, private: age < 16, non_profiled: false, password: b.password, email: b.email, birthdate: b.birthdate, followers: new Set(), following: new Set(), requests: new Set(), blocked: new Set(), seen: new Map() };
  users.set(u.handle, u);
  const region = REGIONS.find((r) => r.id === u.region);
  send(res, 201, { user: publicUser(u), region: { id: region.id, name: region.name, custodian: region.custodian } });
});

route('POST', '/v1/sessions', async (req, res) => {
  const b = await json(req);
  const u = users.get(String(b?.handle || '').toLowerCase());
  if (!u || u.deleted || u.password !== b.password) return problem(res, 401, 'invalid-credentials', 'Wrong handle or password', 'That handle and password do not match an account.');
  const token = crypto.randomBytes(16).toString('hex');
  sessions.set(token, u.handle);
  send(res, 200, { token, user: publicUser(u) }, 'application/json', { 'Set-Cookie': `sovereel_session=${token}; Path=/; HttpOnly; SameSite=Lax` });
});
route('DELETE', '/v1/sessions/current', (req, res) => {
  sessions.delete(cookie(req, 'sovereel_session'));
  send(res, 204, '', 'text/plain', { 'Set-Cookie': 'sovereel_session=; Path=/; Max-Age=0' });
});

// Routes below need a session.
function authed(fn) {
  return (req, res, m) => {
    const me = caller(req);
    if (!me) return problem(res, 401, 'unauthenticated', 'Not logged in', 'Log in to do this.');
    return fn(req, res, m, me);
  };
}

function meView(me) {
  const r = REGIONS.find((x) => x.id === me.region);
  return { ...publicUser(me), email: me.email, birthdate: me.birthdate, non_profiled: me.non_profiled, region: { id: r.id, name: r.name, custodian: r.custodian } };
}
route('GET', '/v1/me', authed((req, res, m, me) => send(res, 200, meView(me))));
route('PATCH', '/v1/me', authed(async (req, res, m, me) => {
  const b = await json(req);
  for (const k of ['display_name', 'bio', 'private', 'non_profiled']) if (b && k in b) me[k] = b[k];
  send(res, 200, meView(me));
}));
route('DELETE', '/v1/me', authed((req, res, m, me) => {
  me.deleted = true;
  appendLog(me.region, { v: 1, kind: 'deletion', action: 'schedule', subject: pseudonym(me.handle), at: new Date().toISOString() });
  send(res, 202, { purge_at: new Date().toISOString() });
}));
route('GET', '/v1/me/follow-requests', authed((req, res, m, me) => send(res, 200, { items: [...me.requests].map((h) => publicUser(users.get(h), me)) })));
for (const method of ['PUT', 'DELETE']) {
  route(method, '/v1/me/follow-requests/([^/]+)', authed((req, res, m, me) => {
    const who = m[1].toLowerCase();
    if (!me.requests.delete(who)) return problem(res, 404, 'not-found', 'No such request', `@${who} has not asked to follow you.`);
    if (method === 'PUT') (me.followers.add(who), users.get(who).following.add(me.handle));
    send(res, 204, '');
  }));
}
route('POST', '/v1/me/for-you/reset', authed((req, res, m, me) => {
  me.seen.clear();
  send(res, 204, '');
}));
route('POST', '/v1/me/exports', authed((req, res, m, me) => {
  const id = nextId('x');
  exports.set(id, { owner: me.handle, polls: 0 });
  send(res, 202, { id, state: 'preparing' });
}));
route('GET', '/v1/me/exports/([^/]+)', authed((req, res, m, me) => {
  const job = exports.get(m[1]);
  if (!job || job.owner !== me.handle) return problem(res, 404, 'not-found', 'Not found', 'No such export.');
  if (job.polls++ < 1) return send(res, 200, { id: m[1], state: 'preparing' });
  const archive = zlib.gzipSync(JSON.stringify({ protected: { email: me.email, birthdate: me.birthdate }, public: publicUser(me) }));
  send(res, 200, archive, 'application/gzip', { 'Content-Disposition': 'attachment; filename="export.json.gz"' });
}));

// A staff access to the caller's data, for the access log (the mock's stand-in
// for a real operator action).
route('POST', '/mock/staff-access/([^/]+)', (req, res, m) => {
  const u = users.get(m[1]);
  if (!u) return problem(res, 404, 'not-found', 'Not found', 'No such user.');
  // The shape of the ledger crate's `Entry` with an `Access` body.
  const index = appendLog(u.region, { v: 1, at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), kind: 'access', principal: { type: 'custodian_staff', region: u.region, role: 'support', staff_id: 'st-7' }, action: 'read_profile', resource_class: 'protected', subject: pseudonym(u.handle), purpose: 'user support request', case_id: 'case-42', decision: 'allow' });
  send(res, 200, { index });
});
route('GET', '/v1/me/access-log', authed((req, res, m, me) => {
  const log = logs[me.region];
  const items = log.entries.map((entry, index) => ({ entry, index })).filter(({ entry }) => entry.subject === pseudonym(me.handle)).map(({ entry, index }) => ({
    index, entry, leaf_b64: log.leaves[index].toString('base64'), proof: proofPath(index, log.leaves).map((p) => p.toString('base64')), tree_size: log.leaves.length,
  }));
  send(res, 200, { checkpoint: checkpoint(log.signer, log.leaves), vkey: log.signer.vkey, items });
}));
route('GET', '/log/([a-z]+)/checkpoint', (req, res, m) => logs[m[1]] ? send(res, 200, checkpoint(logs[m[1]].signer, logs[m[1]].leaves), 'text/plain; charset=utf-8') : problem(res, 404, 'not-found', 'Not found', 'No such log.'));
route('GET', '/log/([a-z]+)/vkey', (req, res, m) => logs[m[1]] ? send(res, 200, `${logs[m[1]].signer.vkey}\n`, 'text/plain; charset=utf-8') : problem(res, 404, 'not-found', 'Not found', 'No such log.'));
route('GET', '/v1/transparency', (req, res) => send(res, 200, {
  regions: REGIONS.map((r) => ({ id: r.id, name: r.name, custodian: r.custodian, checkpoint: checkpoint(logs[r.id].signer, logs[r.id].leaves), witnesses: REGIONS.filter((o) => o.id !== r.id).map((o) => o.custodian), release: { id: 'r1', approvals: [{ by: r.custodian, at: '2026-11-01T00:00:00Z' }] } })),
}));

route('POST', '/v1/videos', authed(async (req, res, m, me) => {
  const raw = await body(req);
  let form;
  try {
    form = await new Request('http://mock/', { method: 'POST', headers: { 'content-type': req.headers['content-type'] }, body: raw }).formData();
  } catch {
    return problem(res, 400, 'bad-multipart', 'Bad upload', 'The upload could not be read.');
  }
  const file = form.get('file');
  if (!file || typeof file === 'string') return problem(res, 422, 'missing-file', 'No file', 'Choose a video file.');
  const bytes = Buffer.from(await file.arrayBuffer());
  const isMp4 = bytes.subarray(4, 8).toString() === 'ftyp';
  const isWebm = bytes.subarray(0, 4).equals(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]));
  if (!isMp4 && !isWebm) return problem(res, 415, 'unsupported-media', 'Unsupported video', 'Upload an MP4 (H.264) or WebM (VP9) file.');
  const metaPart = form.get('meta');
  const meta = JSON.parse(typeof metaPart === 'string' ? metaPart : await metaPart.text());
  const poster = form.get('poster');
  const caption = String(meta.caption || '');
  const v = {
    id: nextId('v'), author: me.handle, caption, hashtags: [...caption.matchAll(/#(\w+)/g)].map((x) => x[1].toLowerCase()), mentions: [...caption.matchAll(/@(\w+)/g)].map((x) => x[1].toLowerCase()),
    visibility: meta.visibility || 'public', comments: meta.comments || 'everyone', state: 'processing', polls: 0, duration_ms: 2000,
    bytes, type: isMp4 ? 'video/mp4' : 'video/webm', poster: poster && typeof poster !== 'string' ? Buffer.from(await poster.arrayBuffer()) : null,
    likes: new Set(), shares: 0, views: 0, created_at: new Date().toISOString(),
  };
  videos.set(v.id, v);
  send(res, 202, videoView(v, me));
}));

function findVideo(req, res, id) {
  const v = videos.get(id);
  const viewer = caller(req);
  if (!v || !visible(v, viewer)) {
    problem(res, 404, 'not-found', 'Video not found', 'This video does not exist or is not visible to you.');
    return null;
  }
  return v;
}

route('GET', '/v1/videos/([^/]+)', (req, res, m) => {
  const v = findVideo(req, res, m[1]);
  if (!v) return;
  if (v.state === 'processing' && v.polls++ >= 1) v.state = 'ready';
  send(res, 200, videoView(v, caller(req)));
});
route('DELETE', '/v1/videos/([^/]+)', authed((req, res, m, me) => {
  const v = videos.get(m[1]);
  if (!v || v.deleted || v.author !== me.handle) return problem(res, 404, 'not-found', 'Video not found', 'You have no such video.');
  v.deleted = true;
  send(res, 204, '');
}));
route('GET', '/v1/videos/([^/]+)/stream', (req, res, m) => {
  const v = findVideo(req, res, m[1]);
  if (!v) return;
  const range = /bytes=(\d*)-(\d*)/.exec(req.headers.range || '');
  if (!range) return send(res, 200, v.bytes, v.type, { 'Accept-Ranges': 'bytes' });
  const start = range[1] ? Number(range[1]) : 0;
  const end = range[2] ? Math.min(Number(range[2]), v.bytes.length - 1) : v.bytes.length - 1;
  send(res, 206, v.bytes.subarray(start, end + 1), v.type, { 'Content-Range': `bytes ${start}-${end}/${v.bytes.length}`, 'Accept-Ranges': 'bytes' });
});
route('GET', '/v1/videos/([^/]+)/poster', (req, res, m) => {
  const v = findVideo(req, res, m[1]);
  if (v && v.poster) send(res, 200, v.poster, 'image/jpeg');
  else if (v) problem(res, 404, 'not-found', 'No poster', 'This video has no poster.');
});
route('GET', '/v1/videos/([^/]+)/why', (req, res, m) => {
  const v = findVideo(req, res, m[1]);
  if (v) send(res, 200, { reason: 'Fresh upload', source: 'fresh', details: [`New video from @${v.author}`] });
});
for (const method of ['PUT', 'DELETE']) {
  route(method, '/v1/videos/([^/]+)/like', authed((req, res, m, me) => {
    const v = findVideo(req, res, m[1]);
    if (!v) return;
    if (method === 'PUT') v.likes.add(me.handle);
    else v.likes.delete(me.handle);
    send(res, 200, { liked: method === 'PUT', counts: videoView(v).counts });
  }));
}
route('GET', '/v1/videos/([^/]+)/comments', (req, res, m) => {
  const v = findVideo(req, res, m[1]);
  if (!v) return;
  const parent = new URL(req.url, 'http://x').searchParams.get('parent_id');
  const all = comments.get(v.id) || [];
  const items = all.filter((c) => (parent ? c.parent_id === parent : !c.parent_id)).map((c) => ({ ...c, replies_count: all.filter((r) => r.parent_id === c.id).length }));
  send(res, 200, { items: parent ? items : items.reverse(), next_cursor: null });
});
route('POST', '/v1/videos/([^/]+)/comments', authed(async (req, res, m, me) => {
  const v = findVideo(req, res, m[1]);
  if (!v) return;
  if (v.comments === 'nobody') return problem(res, 403, 'comments-off', 'Comments are off', 'The creator turned comments off for this video.');
  const b = await json(req);
  if (!b?.text?.trim()) return problem(res, 422, 'empty-comment', 'Empty comment', 'Write something first.');
  const c = { id: nextId('c'), author: { handle: me.handle, display_name: me.display_name, region: me.region }, text: b.text, parent_id: b.parent_id || null, created_at: new Date().toISOString(), replies_count: 0 };
  comments.set(v.id, [...(comments.get(v.id) || []), c]);
  send(res, 201, c);
}));
route('POST', '/v1/videos/([^/]+)/shares', (req, res, m) => {
  const v = findVideo(req, res, m[1]);
  if (!v) return;
  v.shares++;
  send(res, 200, { url: `/v/${v.id}`, counts: videoView(v).counts });
});

route('GET', '/v1/users/([^/]+)', (req, res, m) => {
  const u = users.get(m[1].toLowerCase());
  if (!u || u.deleted) return problem(res, 404, 'not-found', 'User not found', 'This account does not exist or was deleted.');
  send(res, 200, publicUser(u, caller(req)));
});
route('GET', '/v1/users/([^/]+)/videos', (req, res, m) => {
  const viewer = caller(req);
  const list = [...videos.values()].filter((v) => v.author === m[1].toLowerCase() && visible(v, viewer)).reverse();
  send(res, 200, { items: list.map((v) => videoView(v, viewer)), next_cursor: null });
});
for (const method of ['PUT', 'DELETE']) {
  route(method, '/v1/users/([^/]+)/follow', authed((req, res, m, me) => {
    const u = users.get(m[1].toLowerCase());
    if (!u || u.deleted || u.handle === me.handle) return problem(res, 404, 'not-found', 'User not found', 'No such account.');
    if (method === 'PUT' && u.private && !u.followers.has(me.handle)) {
      u.requests.add(me.handle);
      return send(res, 200, { state: 'pending' });
    }
    if (method === 'PUT') (u.followers.add(me.handle), me.following.add(u.handle));
    else (u.followers.delete(me.handle), me.following.delete(u.handle), u.requests.delete(me.handle));
    if (method === 'PUT') return send(res, 200, { state: 'approved' });
    send(res, 204, '');
  }));
  route(method, '/v1/users/([^/]+)/block', authed((req, res, m, me) => {
    const u = users.get(m[1].toLowerCase());
    if (!u) return problem(res, 404, 'not-found', 'User not found', 'No such account.');
    if (method === 'PUT') me.blocked.add(u.handle);
    else me.blocked.delete(u.handle);
    send(res, 204, '');
  }));
}

// For You: hashtags the viewer watched to the end rank first; the rest by recency.
function feed(req, res, me, following) {
  const url = new URL(req.url, 'http://x');
  const start = Number(url.searchParams.get('cursor') || 0);
  const affinity = new Map();
  me ??= { handle: null, seen: new Map(), following: new Set(), non_profiled: true, blocked: new Set() };
  for (const [id, done] of me.seen) {
    const v = videos.get(id);
    if (v && done) for (const t of v.hashtags) affinity.set(t, (affinity.get(t) || 0) + 1);
  }
  let list = [...videos.values()].filter((v) => v.state !== 'processing' && visible(v, me.handle ? me : null) && v.author !== me.handle);
  if (following) list = list.filter((v) => me.following.has(v.author)).reverse();
  else {
    const score = (v) => (me.non_profiled ? 0 : v.hashtags.reduce((n, t) => n + (affinity.get(t) || 0), 0)) - (me.seen.has(v.id) ? 1000 : 0);
    list = list.reverse().sort((a, b) => score(b) - score(a));
  }
  const page = list.slice(start, start + 8);
  send(res, 200, {
    items: page.map((v) => ({ video: videoView(v, me), reason: following ? `From @${v.author}, whom you follow` : 'Popular in your region', source: following ? 'following' : 'trending' })),
    next_cursor: start + 8 < list.length ? String(start + 8) : null,
    release: 'r1',
  });
}
// As the server: visitors get For You too (popular videos, nothing learnt).
route('GET', '/v1/feed/for-you', (req, res) => feed(req, res, caller(req), false));
route('GET', '/v1/feed/following', authed((req, res, m, me) => feed(req, res, me, true)));
route('POST', '/v1/events', authed(async (req, res, m, me) => {
  const b = await json(req);
  if (!Array.isArray(b?.events) || b.events.length > 500) return problem(res, 422, 'bad-events', 'Bad events', 'Send 1 to 500 events.');
  // As the server: `at` is milliseconds since the epoch.
  if (b.events.some((e) => e.at !== undefined && !Number.isInteger(e.at))) return problem(res, 422, 'invalid-field', 'Invalid field', 'events[].at: milliseconds since the epoch');
  for (const e of b.events) {
    const v = videos.get(e.video_id);
    if (!v) continue;
    if (e.type === 'view') {
      v.views++;
      me.seen.set(v.id, (e.watch_ms || 0) >= (e.duration_ms || v.duration_ms));
    }
    if (e.type === 'skip' || e.type === 'not_interested') me.seen.set(v.id, false);
  }
  send(res, 202, { accepted: b.events.length });
}));
route('GET', '/v1/search', (req, res) => {
  const q = (new URL(req.url, 'http://x').searchParams.get('q') || '').toLowerCase().replace(/^[#@]/, '');
  const viewer = caller(req);
  const items = [];
  for (const u of users.values()) if (!u.deleted && u.handle.includes(q)) items.push({ type: 'user', user: publicUser(u, viewer) });
  const tags = new Map();
  for (const v of videos.values()) if (visible(v, viewer)) for (const t of v.hashtags) if (t.includes(q)) tags.set(t, (tags.get(t) || 0) + 1);
  for (const [tag, count] of tags) items.push({ type: 'hashtag', tag, videos: count });
  for (const v of videos.values()) if (visible(v, viewer) && v.caption.toLowerCase().includes(q)) items.push({ type: 'video', video: videoView(v, viewer) });
  send(res, 200, { items, next_cursor: null });
});
route('GET', '/v1/hashtags/([^/]+)', (req, res, m) => {
  const viewer = caller(req);
  const list = [...videos.values()].filter((v) => visible(v, viewer) && v.state === 'ready' && v.hashtags.includes(m[1].toLowerCase())).reverse();
  send(res, 200, { tag: m[1], videos: list.length, items: list.map((v) => videoView(v, viewer)), next_cursor: null });
});

function serveStatic(req, res) {
  const url = new URL(req.url, 'http://x');
  if (/^\/(v1|log)\//.test(url.pathname)) return problem(res, 404, 'not-found', 'Not found', 'No such endpoint.');
  let file = path.join(WEB, path.normalize(url.pathname));
  if (!file.startsWith(WEB) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(WEB, 'index.html');
  send(res, 200, fs.readFileSync(file), TYPES[path.extname(file)] || 'application/octet-stream');
}

const server = http.createServer(async (req, res) => {
  const { pathname } = new URL(req.url, 'http://x');
  try {
    for (const [method, pattern, fn] of routes) {
      const m = pattern.exec(pathname);
      if (m && method === req.method) return await fn(req, res, m);
    }
    if (req.method === 'GET') return serveStatic(req, res);
    problem(res, 405, 'method-not-allowed', 'Method not allowed', `${req.method} ${pathname} is not supported.`);
  } catch (err) {
    problem(res, 500, 'internal', 'Internal error', String(err?.message || err));
  }
});

const at = process.argv.indexOf('--listen');
const listen = at > 0 ? process.argv[at + 1] : '127.0.0.1:0';
const [host, port] = listen.split(':');
server.listen(Number(port), host, () => {
  console.log(`listening on http://${host}:${server.address().port}`);
});
