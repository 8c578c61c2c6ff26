// API reference pages (Markdown) for every published package, from the TSDoc comments of each
// package's src/index.ts exports: `pnpm run docs` writes docs/api/. The pages are not committed
// (the committed api/*.api.md reports already show every change of the surface in review); CI
// builds them with warnings as errors, so an exported name without documentation fails it.
// Declarations tagged @internal (helpers shared between Skein packages) are left out.
import { OptionDefaults } from 'typedoc';

// No source links (disableSources), so no git lookups: a clone without a usable remote (CI) builds the same.
const hide = {
  excludeInternal: true,
  excludePrivate: true,
  excludeProtected: true,
  disableSources: true,
  disableGit: true,
};

/** @type {Partial<import('typedoc').TypeDocOptions & import('typedoc-plugin-markdown').PluginOptions>} */
export default {
  name: 'Skein API reference',
  entryPointStrategy: 'packages',
  entryPoints: [
    'packages/thread-store-api',
    'packages/thread-store-conformance',
    'packages/thread-store-local',
    'packages/thread-store-remote',
    'packages/thread-store-postgres',
    'packages/core-session',
    'packages/thread-manager',
    'packages/app-server',
    'packages/skein',
  ],
  packageOptions: {
    entryPoints: ['src/index.ts'],
    ...hide,
    readme: 'none',
    // Comments of the committed protobuf code (src/gen) carry buf's @generated tag.
    blockTags: [...OptionDefaults.blockTags, '@generated'],
    validation: { notExported: true, invalidLink: true, notDocumented: true },
    // Every exported declaration, and every method; properties may explain themselves by name.
    requiredToBeDocumented: ['Enum', 'Variable', 'Function', 'Class', 'Interface', 'TypeAlias', 'Method'],
  },
  ...hide,
  plugin: ['typedoc-plugin-markdown'],
  out: 'docs/api',
  readme: 'none',
  hidePageHeader: true,
  disableSources: true,
  treatWarningsAsErrors: true,
};
