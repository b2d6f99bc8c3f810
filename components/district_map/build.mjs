// Builds the district map's bundle into the Python package `district_map` (served by the app itself):
// React and PropTypes come from the page (Dash provides them); MapLibre and its worker are bundled.
import {build} from 'esbuild';
import {copyFileSync, mkdirSync} from 'node:fs';

const OUT = process.env.DISTRICT_MAP_OUT || '../../district_map';  // the Python package the app serves it from
const globals = {react: 'React', 'react-dom': 'ReactDOM', 'prop-types': 'PropTypes'};

const fromPage = {
    name: 'from-page',
    setup(b) {
        b.onResolve({filter: /^(react|react-dom|prop-types)$/}, (args) => ({path: args.path, namespace: 'page'}));
        b.onLoad({filter: /.*/, namespace: 'page'}, (args) => ({contents: `module.exports = window.${globals[args.path]};`}));
    },
};

mkdirSync(OUT, {recursive: true});
await build({
    entryPoints: ['src/index.js'],
    bundle: true,
    minify: true,
    format: 'iife',
    globalName: 'district_map',
    target: ['es2020'],
    loader: {'.js': 'jsx'},
    jsx: 'transform',
    outfile: `${OUT}/district_map.min.js`,
    plugins: [fromPage],
    legalComments: 'linked',
    logLevel: 'info',
});
copyFileSync('node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs', `${OUT}/maplibre-gl-worker.mjs`);
copyFileSync('package.json', `${OUT}/package-info.json`);
