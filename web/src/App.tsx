export function App() {
  return <main><h1>Vellum</h1></main>;
}
