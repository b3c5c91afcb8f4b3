// Writes schema/policy.schema.json from the TypeBox schema in src/policy/schema.ts (npm run schema).
import { writeFileSync } from 'node:fs';
import { publishedSchema } from '../src/policy/schema.js';

const target = new URL('../schema/policy.schema.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(publishedSchema(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
