// Which sample URL Strudel plays for each event of a pattern, computed by Strudel's own code
// (@strudel/core and @strudel/mini for the pattern, superdough's sampler for the sample map),
// in node, without audio: used by tests/test_strudel.py.
//
// usage: node resolve.mjs SAMPLE_MAP_URL 'CODE' ...
// CODE is Strudel code such as 's("kb6").n(3)'. Prints one line 'EVENTS <JSON list>', for every
// event of the first cycle (the first $STRUDEL_CYCLES cycles) of every CODE: {code, value, url}
// (Strudel logs other lines too). A value with a bank is resolved as superdough() does before
// it looks the sound up (superdough.mjs: `if (bank && s) { s = \`${bank}_${s}\`; }`), which needs
// an AudioContext to run itself; tests/test_lines_play.py checks that line is still there.
import { register } from 'node:module';

register('./bundler-entry.mjs', import.meta.url);
const core = await import('@strudel/core');
const { miniAllStrings } = await import('@strudel/mini');
const { getSampleInfo, getSound, samples } = await import('superdough');

miniAllStrings(); // "double-quoted" strings are mini-notation, as in the REPL
const [mapUrl, ...codes] = process.argv.slice(2);
await samples(mapUrl); // fetches the map and registers its sounds, as samples('...') in the REPL
const names = Object.keys(core).filter((name) => /^[A-Za-z_$][\w$]*$/.test(name));
const cycles = Number(process.env.STRUDEL_CYCLES || 1);
const events = [];
for (const code of codes) {
  const pattern = new Function(...names, `return ${code};`)(...names.map((name) => core[name]));
  for (const hap of pattern.queryArc(0, cycles)) {
    const value = { ...hap.value };
    if (value.bank && value.s) value.s = `${value.bank}_${value.s}`;
    const sound = getSound(value.s);
    events.push({ code, value: hap.value, url: sound ? getSampleInfo(value, sound.data.samples).url : null });
  }
}
console.log(`EVENTS ${JSON.stringify(events)}`);
