/** BRAND holds the product colours shared by the antd theme and hand-styled parts. */
export const BRAND = {
  primary: '#2f54eb',
  sider: '#0b1f44',
  siderDeep: '#09183a',
};
