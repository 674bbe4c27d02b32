// The second major versions are installed under aliases; their APIs used here match the typed ones.
declare module 'express4' {
  import express from 'express';
  export default express;
}
declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}
