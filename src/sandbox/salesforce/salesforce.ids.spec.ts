import { randomSalesforceId, salesforceId, toId18 } from './salesforce.ids';

describe("the emulator's record ids", () => {
  it('are 18 characters: key prefix, pod, reserved 0, serial, case suffix', () => {
    expect(salesforceId('0a3', 9112344)).toBe('0a3Dn000000cEXIIA2');
    expect(randomSalesforceId('3tt')).toMatch(/^3ttDn0[0-9A-Za-z]{9}[A-Z0-5]{3}$/);
  });

  it('carry a case suffix that reads back: 15 characters gain it, 18 keep it, a wrong suffix is refused', () => {
    const samples = Array.from({ length: 300 }, () => randomSalesforceId('3tt'));
    for (const id of samples) {
      expect(toId18(id)).toBe(id);
      expect(toId18(id.slice(0, 15))).toBe(id);
      expect(toId18(id.toLowerCase())).toBe(id);
    }
    expect(toId18('0a3Dn000000cEXIZZZ')).toBeNull();
  });
});
