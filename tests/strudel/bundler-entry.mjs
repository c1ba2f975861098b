// Node resolves a package by its "main" field; Strudel is built with a bundler (vite), which
// takes the "module" field first. @kabelsalat/web (imported by @strudel/core) has an ES module
// only under "module", so resolve it as the bundler does.
export async function resolve(specifier, context, nextResolve) {
  return nextResolve(specifier === '@kabelsalat/web' ? '@kabelsalat/web/dist/index.mjs' : specifier, context);
}
