import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@xyflow/react/dist/style.css';
// Global sheets, in cascade order: theme and resets, then the controls and page frame every
// feature uses by class name. Each component imports its own sheet, which comes after these.
import './app/base.css';
import './ui/controls.css';
import './ui/page.css';
import { App } from './app/App';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
