export function App() {
  return <main aria-label="Model Studio">Model Studio</main>;
}
