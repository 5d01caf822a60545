// hub_client.mjs: one call of the official @huggingface/hub JS client (the
// version pinned in package.json), for tests/test_hub_js.py.
//
//   node tests/js/hub_client.mjs ACTION REPO [FILE]
//
// hubUrl is $HF_ENDPOINT (required: the tests aim it at a fake Hub on
// 127.0.0.1), accessToken is $HF_TOKEN when set. Prints exactly one JSON
// line on stdout:
//
//   model-info           {"ok":true,"action":…,"id":"<repo id>","sha":"<commit>","_id":…}
//   download FILE        {"ok":true,"action":…,"status":200,"bytes":N,"sha256":"<hex>"}
//   file-exists FILE     {"ok":true,"action":…,"exists":true|false}
//   file-download-info FILE
//                        {"ok":true,"action":…,"found":true,"size":N,"etag":…,"url":…}
//                        ({"ok":true,"found":false} when the Hub says EntryNotFound)
//   snapshot-download    {"ok":true,"action":…,"folder":"<snapshot folder>","statuses":[…]}
//                        (into the cache folder $HF_HUB_CACHE, the Hub cache layout)
//
// and exits 0; on an error {"ok":false,"name":…,"status":<HTTP status or
// null>,"message":…,"cause":<errno code or null>,"statuses":[…]} and exit 2 (a download of
// a file the Hub does not have is an error: name "EntryNotFound", status
// 404); usage errors exit 64. It never hangs: after 15 s (HUB_CLIENT_TIMEOUT_MS
// to change it) it prints {"ok":false,"name":"timeout"} and exits 3.
// "statuses" lists the HTTP status of every response the library got, in
// order (its fetch calls go through a wrapper that only records them).

import { createHash } from "node:crypto";

const TIMEOUT_MS = Number(process.env.HUB_CLIENT_TIMEOUT_MS || 15000);

let done = false;
let lastStatuses = [];
function finish(obj, code) {
	if (done) return;
	done = true;
	process.stdout.write(JSON.stringify(obj) + "\n", () => process.exit(code));
}

const timer = setTimeout(() => finish({ ok: false, name: "timeout", status: null, message: `no outcome after ${TIMEOUT_MS} ms` }, 3), TIMEOUT_MS);

function errorOutcome(err) {
	const cause = err && err.cause;
	return {
		ok: false,
		// HubApiError does not set .name: take the class name then
		name: (err && err.name && err.name !== "Error" ? err.name : err?.constructor?.name) || "Error",
		status: (err && err.statusCode) || null,
		message: String((err && err.message) || err),
		cause: (cause && (cause.code || cause.message || cause.name)) || null,
		statuses: lastStatuses,
	};
}

async function main() {
	const [action, repo, file] = process.argv.slice(2);
	const hubUrl = process.env.HF_ENDPOINT;
	if (!action || !repo || !hubUrl || (action !== "model-info" && action !== "snapshot-download" && !file)) {
		process.stderr.write("usage: HF_ENDPOINT=http://127.0.0.1:PORT node hub_client.mjs model-info|download|file-exists|file-download-info|snapshot-download REPO [FILE]\n");
		clearTimeout(timer);
		done = true;
		process.exit(64);
	}
	const hub = await import("@huggingface/hub");
	const creds = process.env.HF_TOKEN ? { accessToken: process.env.HF_TOKEN } : {};
	// the library's own fetch calls, with the status each got (no change to them)
	const statuses = [];
	const recordingFetch = (input, init) =>
		fetch(input, init).then((resp) => {
			statuses.push(resp.status);
			return resp;
		});
	const common = { hubUrl: hubUrl.replace(/\/+$/, ""), fetch: recordingFetch, ...creds };
	lastStatuses = statuses;

	switch (action) {
		case "model-info": {
			const info = await hub.modelInfo({ name: repo, additionalFields: ["sha"], ...common });
			return { ok: true, action, id: info.name, sha: info.sha ?? null, _id: info.id ?? null };
		}
		case "download": {
			const blob = await hub.downloadFile({ repo, path: file, xet: false, ...common });
			if (blob === null) {
				return { ok: false, name: "EntryNotFound", status: 404, message: `${file} not found in ${repo}`, cause: null, statuses };
			}
			const buf = Buffer.from(await blob.arrayBuffer());
			return { ok: true, action, status: statuses[statuses.length - 1] ?? null, statuses, bytes: buf.length, sha256: createHash("sha256").update(buf).digest("hex") };
		}
		case "file-exists": {
			const exists = await hub.fileExists({ repo, path: file, ...common });
			return { ok: true, action, exists };
		}
		case "file-download-info": {
			const info = await hub.fileDownloadInfo({ repo, path: file, ...common });
			if (info === null) return { ok: true, action, found: false };
			return { ok: true, action, found: true, size: info.size, etag: info.etag, url: info.url, xet: Boolean(info.xet) };
		}
		case "snapshot-download": {
			const cacheDir = process.env.HF_HUB_CACHE;
			if (!cacheDir) throw Object.assign(new Error("snapshot-download needs $HF_HUB_CACHE"), { name: "UsageError" });
			const folder = await hub.snapshotDownload({ repo, cacheDir, ...common });
			return { ok: true, action, folder, statuses };
		}
		default:
			throw Object.assign(new Error(`unknown action ${action}`), { name: "UsageError" });
	}
}

main().then(
	(out) => {
		clearTimeout(timer);
		finish(out, out.ok ? 0 : 2);
	},
	(err) => {
		clearTimeout(timer);
		finish(errorOutcome(err), 2);
	},
);
