import DistrictMap from './components/DistrictMap.react';
import 'maplibre-gl/dist/maplibre-gl.css';

export {DistrictMap};
