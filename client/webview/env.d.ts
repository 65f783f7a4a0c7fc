// esbuild bundles the stylesheet as text (`loader: { '.css': 'text' }`); the page inserts it with its nonce.
declare module '*.css' {
  const text: string;
  export default text;
}
