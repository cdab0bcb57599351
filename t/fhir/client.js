// A FHIR client as health-IT tools use one (fhir-kit-client, from
// `script/npm-tool fhir` on NODE_PATH), against the service: reads the
// CapabilityStatement, creates patients, reads, searches and follows next
// to the last page, updates with If-Match, reads a version and the
// history, deletes.  Arguments: the FHIR base URL and a token.  Prints
// one JSON object of what it saw, for t/101-fhir-client.t to check.
'use strict';

const Client = require('fhir-kit-client');

async function main() {
	const [baseUrl, token] = process.argv.slice(2);
	const client = new Client({ baseUrl, bearerToken: token });
	const seen = {};
	const tag = `Kit${process.pid}`;

	const cs = await client.capabilityStatement();
	seen.fhirVersion = cs.fhirVersion;

	const made = [];
	for (const given of ['Ann', 'Bo', 'Cy', 'Di', 'Ed']) {
		made.push(await client.create({ resourceType: 'Patient', body: {
			resourceType: 'Patient', name: [{ text: `${tag} ${given}` }],
			gender: 'unknown' } }));
	}
	seen.created = made.map((p) => p.meta.versionId);
	const id = made[0].id;

	const read = await client.read({ resourceType: 'Patient', id });
	seen.readName = read.name[0].text;

	let bundle = await client.search({ resourceType: 'Patient',
	    searchParams: { name: tag, _count: 2, _sort: 'name' } });
	seen.pages = 0;
	seen.names = [];
	while (bundle) {
		seen.pages++;
		seen.names.push(...(bundle.entry || []).map((e) =>
		    e.resource.name[0].text));
		bundle = await client.nextPage({ bundle });
	}

	const updated = await client.update({ resourceType: 'Patient', id,
	    body: { ...read, gender: 'female' },
	    options: { headers: { 'If-Match': `W/"${read.meta.versionId}"` } } });
	seen.updatedVersion = updated.meta.versionId;
	seen.updatedGender = updated.gender;
	try {
		await client.update({ resourceType: 'Patient', id,
		    body: { ...read, gender: 'male' },
		    options: { headers: { 'If-Match': 'W/"1"' } } });
		seen.staleUpdate = 'accepted';
	} catch (e) {
		seen.staleUpdate = e.response && e.response.status;
		seen.staleOutcome = e.response && e.response.data &&
		    e.response.data.resourceType;
	}

	const v1 = await client.vread({ resourceType: 'Patient', id,
	    version: '1' });
	seen.version1Gender = v1.gender;
	const history = await client.history({ resourceType: 'Patient', id });
	seen.historyType = history.type;
	seen.historyVersions = history.entry.map((e) =>
	    e.resource.meta.versionId);

	await client.delete({ resourceType: 'Patient', id });
	try {
		await client.read({ resourceType: 'Patient', id });
		seen.readAfterDelete = 200;
	} catch (e) {
		seen.readAfterDelete = e.response && e.response.status;
	}
	console.log(JSON.stringify(seen));
}

main().catch((e) => {
	console.error(e.response ? `${e.response.status} ` +
	    JSON.stringify(e.response.data) : e.stack);
	process.exit(1);
});
