// First: schemas built by later imports must not try eval under the CSP.
import './app/zod-without-eval';
import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';

mount(App, { target: document.getElementById('app')! });
